"""The minikube modules as Ansible runs them, with run_command answered by a fake minikube.

The fake keeps profiles in memory and answers ``profile list`` / ``status`` / ``version`` in the JSON shape of
minikube v1.37 (see module_utils/fixtures/minikube), so create -> rerun shows real idempotence: the second
run reads back what the first one's ``minikube start`` made.
"""

import copy
import json
import pathlib
from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshlab.canary.plugins.modules import minikube, minikube_preflight_info

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "minikube"
BIN = "/opt/bin/minikube"


def fixture(name):
    return (FIXTURES / name).read_text()


TEMPLATE = json.loads(fixture("profile_list_running.json"))["valid"][0]


class FakeMinikube(object):
    """minikube's CLI over an in-memory profile store; records every argv."""

    def __init__(self, profiles=None, supported=fixture("kubernetes_versions_v1.37.0.json")):
        self.profiles = copy.deepcopy(profiles or {})  # name -> {"config": ..., "running": bool}
        self.supported = supported
        self.calls = []

    def changes(self):
        return [argv for argv in self.calls if argv[1] in ("start", "stop", "delete")]

    def add(self, name, running=True, **config):
        entry = copy.deepcopy(TEMPLATE["Config"])
        kube = config.pop("kube", {})
        entry.update(config, Name=name)
        entry["KubernetesConfig"].update(kube)
        self.profiles[name] = {"config": entry, "running": running}

    def __call__(self, argv, environ_update=None, **_kw):
        assert environ_update == {"MINIKUBE_IN_STYLE": "false"}
        assert argv[0] == BIN
        self.calls.append(list(argv))
        verb = argv[1]
        flags = dict(item[2:].partition("=")[::2] for item in argv[2:] if item.startswith("--") and "=" in item)
        extras = [item.split("=", 1)[1] for item in argv[2:] if item.startswith("--extra-config=")]
        if verb == "version":
            return 0, fixture("version_v1.37.0.json"), ""
        if verb == "config":
            return 0, self.supported, ""
        if verb == "profile":
            valid = [{"Name": name, "Status": "OK" if p["running"] else "Stopped", "Config": p["config"],
                      "Active": False, "ActiveKubeContext": False} for name, p in sorted(self.profiles.items())]
            return 0, json.dumps({"invalid": [], "valid": valid}), ""
        name = flags.get("profile")
        if verb == "status":
            state = "Running" if self.profiles[name]["running"] else "Stopped"
            return (0 if state == "Running" else 7), json.dumps({
                "Name": name, "Host": state, "Kubelet": state, "APIServer": state,
                "Kubeconfig": "Configured" if state == "Running" else state, "Worker": False}), ""
        if verb == "start":
            if name not in self.profiles:
                self.add(name, running=True, Driver=flags.get("driver", "docker"), CPUs=int(flags.get("cpus", 2)),
                         Memory=int(flags.get("memory", "2200mb")[:-2]),
                         kube={"KubernetesVersion": flags.get("kubernetes-version", "v1.34.0"),
                               "ContainerRuntime": flags.get("container-runtime", "docker"),
                               "ExtraOptions": [dict(zip(("Component", "Key", "Value"),
                                                         [e.split(".", 1)[0]] + e.split(".", 1)[1].split("=", 1)))
                                                for e in extras]})
            self.profiles[name]["running"] = True
            return 0, "Done! kubectl is now configured to use \"%s\" cluster" % name, ""
        if verb == "stop":
            self.profiles[name]["running"] = False
            return 0, "1 node stopped.", ""
        if verb == "delete":
            self.profiles.pop(name, None)
            return 0, "Removed all traces of the \"%s\" cluster." % name, ""
        raise AssertionError("unexpected minikube call %r" % argv)


def run_module(module, args, capsys, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def run_minikube(fake, args, capsys, **kw):
    with mock.patch.object(basic.AnsibleModule, "run_command", side_effect=fake), \
            mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value=BIN):
        return run_module(minikube, args, capsys, **kw)


LAB = dict(profile="meshlab", driver="docker", cpus=4, memory_mb=8192, kubernetes_version="v1.28.15",
           service_account={"issuer": "kubernetes/serviceaccount", "signing_key_file": "/var/lib/minikube/certs/sa.key",
                            "key_file": "/var/lib/minikube/certs/sa.pub", "audiences": ["api"]},
           disk_size="20g", wait_timeout=900)


def test_check_mode_then_create_then_idempotent(capsys):
    fake = FakeMinikube()
    checked = run_minikube(fake, LAB, capsys, check=True, diff=True)
    assert checked["changed"] is True and checked["action"] == "create"
    assert fake.changes() == []
    assert checked["diff"]["before"] == {"state": "absent"}
    assert checked["diff"]["after"] == {
        "driver": "docker", "cpus": 4, "memory_mb": 8192, "kubernetes_version": "v1.28.15", "state": "running",
        "extra_config": ["apiserver.service-account-signing-key-file=/var/lib/minikube/certs/sa.key",
                         "apiserver.service-account-key-file=/var/lib/minikube/certs/sa.pub",
                         "apiserver.service-account-issuer=kubernetes/serviceaccount",
                         "apiserver.api-audiences=api"]}
    assert checked["commands"][0][:4] == [BIN, "start", "--profile=meshlab", "--driver=docker"]

    created = run_minikube(fake, LAB, capsys)
    assert created["changed"] is True and created["action"] == "create" and "diff" not in created
    assert created["minikube_version"] == "v1.37.0"
    assert fake.changes() == checked["commands"]

    again = run_minikube(fake, LAB, capsys, diff=True)
    assert again["changed"] is False and again["action"] == "none" and again["commands"] == []
    assert again["diff"]["before"] == again["diff"]["after"] == dict(checked["diff"]["after"])
    assert len(fake.changes()) == 1
    checked_again = run_minikube(fake, LAB, capsys, check=True)
    assert checked_again["changed"] is False


def test_stopped_profile_is_started_and_stop_state_stops(capsys):
    fake = FakeMinikube()
    run_minikube(fake, LAB, capsys)
    stopped = run_minikube(fake, dict(profile="meshlab", state="stopped"), capsys, diff=True)
    assert stopped["action"] == "stop" and stopped["changed"] is True
    assert stopped["diff"]["before"]["state"] == "running" and stopped["diff"]["after"]["state"] == "stopped"
    assert run_minikube(fake, dict(profile="meshlab", state="stopped"), capsys)["changed"] is False
    started = run_minikube(fake, LAB, capsys)
    assert started["action"] == "start" and started["status"] == "host Stopped, kubelet Stopped, apiserver Stopped"
    assert fake.changes()[-1][1] == "start"


def test_conflict_fails_and_changes_nothing_even_in_check_mode(capsys):
    fake = FakeMinikube()
    fake.add("meshlab", CPUs=2, kube={"KubernetesVersion": "v1.28.15"})
    for check in (True, False):
        result = run_minikube(fake, LAB, capsys, check=check, diff=True)
        assert result["failed"] is True and result["changed"] is False and result["action"] == "conflict"
        assert result["drift"] == ["cpus: profile has 2, wanted 4"]
        assert result["msg"].startswith("profile meshlab exists with other settings: cpus: profile has 2, wanted 4.")
        assert result["diff"]["before"]["cpus"] == 2 and result["diff"]["after"]["cpus"] == 4
    assert fake.changes() == []


def test_recreate_deletes_then_starts(capsys):
    fake = FakeMinikube()
    fake.add("meshlab", CPUs=2, kube={"KubernetesVersion": "v1.28.15"})
    checked = run_minikube(fake, dict(LAB, recreate=True), capsys, check=True)
    assert checked["action"] == "recreate" and fake.changes() == []
    assert [argv[1] for argv in checked["commands"]] == ["delete", "start"]
    done = run_minikube(fake, dict(LAB, recreate=True), capsys)
    assert done["changed"] is True and [argv[1] for argv in fake.changes()] == ["delete", "start"]
    assert run_minikube(fake, dict(LAB, recreate=True), capsys)["changed"] is False


def test_kubernetes_too_old_for_this_minikube_fails_before_any_change(capsys):
    fake = FakeMinikube()
    result = run_minikube(fake, dict(LAB, kubernetes_version="v1.26.15"), capsys, check=True)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("kubernetes_version v1.26.15 is older than minikube v1.37.0 supports "
                                    "(v1.28.0 to v1.34.0)")
    assert fake.changes() == []
    older_minikube = FakeMinikube(supported=json.dumps(["v1.33.1", "v1.26.15", "v1.20.0"]))
    assert run_minikube(older_minikube, dict(LAB, kubernetes_version="v1.26.15"), capsys)["action"] == "create"


def test_absent(capsys):
    fake = FakeMinikube()
    fake.add("meshlab")
    checked = run_minikube(fake, dict(profile="meshlab", state="absent"), capsys, check=True, diff=True)
    assert checked["changed"] is True and checked["diff"]["after"] == {"state": "absent"} and fake.changes() == []
    assert run_minikube(fake, dict(profile="meshlab", state="absent"), capsys)["changed"] is True
    assert fake.profiles == {}
    assert run_minikube(fake, dict(profile="meshlab", state="absent"), capsys)["changed"] is False


def test_without_minikube_installed(capsys):
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value=None), \
            mock.patch.object(basic.AnsibleModule, "run_command", side_effect=AssertionError("nothing to run")):
        result = run_module(minikube, dict(profile="meshlab", state="absent"), capsys)
        assert result["changed"] is False and result["message"].startswith("minikube is not installed (yet); ")
        assert run_module(minikube, dict(profile="meshlab", state="stopped"), capsys)["changed"] is False
        preview = run_module(minikube, LAB, capsys, check=True, diff=True)
        assert preview["changed"] is True and preview["action"] == "create"
        assert preview["diff"]["before"] == {"state": "absent"} and preview["commands"][0][:2] == ["minikube", "start"]
        missing = run_module(minikube, dict(profile="meshlab"), capsys)
    assert missing["failed"] is True and "binary_path" in missing["msg"]


def test_failed_start_reports_minikube_words(capsys):
    fake = FakeMinikube()

    def failing(argv, **kw):
        if argv[1] == "start":
            fake.calls.append(list(argv))
            return 29, "", "X Exiting due to MK_USAGE: Docker Desktop has only 7940MB memory but you specified 8192MB"
        return fake(argv, **kw)
    result = run_minikube(failing, LAB, capsys)
    assert result["failed"] is True and result["rc"] == 29 and result["changed"] is False
    assert result["msg"] == ("minikube start failed (rc 29): X Exiting due to MK_USAGE: Docker Desktop has only "
                             "7940MB memory but you specified 8192MB")


def test_bad_input_changes_nothing(capsys):
    fake = FakeMinikube()
    result = run_minikube(fake, dict(LAB, extra_config=["not-a-flag"]), capsys)
    assert result["failed"] is True and "extra_config" in result["msg"] and fake.calls == []
    result = run_minikube(fake, dict(LAB, kubernetes_version=None), capsys)
    assert result["failed"] is True and "needs kubernetes_version" in result["msg"] and fake.calls == []


def test_preflight_info_is_read_only_and_resolves_auto(capsys):
    outputs = {"docker": (0, fixture("docker_info.json"), ""), "minikube": (0, fixture("version_v1.37.0.json"), ""),
               "helm": (0, "v3.19.3", ""), "kubectl": None}
    calls = []

    def run_command(argv, **_kw):
        calls.append(argv)
        return outputs[argv[0].rsplit("/", 1)[-1]]

    def get_bin_path(name, *args, **kw):
        return "/usr/bin/%s" % name if name in outputs else None

    args = dict(driver="docker", names={"cpus": "minikube_cpus"}, disk_paths=["/"], min_free_disk_gb=0)
    with mock.patch.object(basic.AnsibleModule, "run_command", side_effect=run_command), \
            mock.patch.object(basic.AnsibleModule, "get_bin_path", side_effect=get_bin_path):
        result = run_module(minikube_preflight_info, args, capsys, check=True)
        assert result["changed"] is False and result["driver"] == "docker"
        assert result["cpus"] <= 2  # the docker daemon in the fixture offers 2 CPUs
        assert result["tools"]["minikube"]["version"] == "v1.37.0"
        assert all(argv[1] in ("info", "version") for argv in calls)
        bad = run_module(minikube_preflight_info, dict(args, cpus="lots"), capsys)
        assert bad["failed"] is True and bad["msg"] == "minikube_cpus: expected auto or a whole number, got 'lots'"
