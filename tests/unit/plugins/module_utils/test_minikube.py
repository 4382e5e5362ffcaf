"""module_utils._minikube on minikube's own output.

The fixtures in fixtures/minikube/ have the shape minikube v1.37.0 prints (written from its source:
cmd/minikube/cmd/config/profile_list.go, pkg/minikube/config/types.go, cmd/minikube/cmd/status.go,
pkg/minikube/cluster/status.go, cmd/minikube/cmd/version.go); they are not recorded from a live run.
"""

import copy
import json
import pathlib

import pytest

from ansible_collections.meshlab.canary.plugins.module_utils import _minikube as mk

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "minikube"


def fixture(name):
    return (FIXTURES / name).read_text()


def profiles(name):
    return mk.parse_profile_list(fixture(name))


def status(name):
    return mk.parse_status(fixture(name))


TUTORIAL = dict(
    issuer="kubernetes/serviceaccount",
    signing_key_file="/var/lib/minikube/certs/sa.key",
    key_file="/var/lib/minikube/certs/sa.pub",
    audiences=["api"],
)

PARAMS = dict(profile="meshlab", state="present", driver="docker", cpus=4, memory_mb=8192,
              kubernetes_version="v1.26.15", container_runtime=None, service_account=TUTORIAL, extra_config=[],
              disk_size="20g", wait_timeout=900, recreate=False)


def desired(**over):
    return mk.desired_settings(dict(PARAMS, **over))


# --- the version-aware flags (ported from the minikube_extra_config filter tests) -------------------------------


@pytest.mark.parametrize("version", ["v1.22.17", "1.24.17", "v1.24.0-rc.1", "v1.18"])
def test_old_kubernetes_keeps_tutorial_flag(version):
    flags = mk.extra_config(version, TUTORIAL)
    assert "apiserver.service-account-api-audiences=api" in flags
    assert not any(f.startswith("apiserver.api-audiences=") for f in flags)


@pytest.mark.parametrize("version", ["v1.25.0", "v1.26.15", "1.30.2", "v2.0.0"])
def test_new_kubernetes_uses_api_audiences(version):
    flags = mk.extra_config(version, TUTORIAL)
    assert "apiserver.api-audiences=api" in flags
    assert not any("service-account-api-audiences" in f for f in flags)


def test_full_tutorial_set_on_126_in_order():
    assert mk.extra_config("v1.26.15", TUTORIAL) == [
        "apiserver.service-account-signing-key-file=/var/lib/minikube/certs/sa.key",
        "apiserver.service-account-key-file=/var/lib/minikube/certs/sa.pub",
        "apiserver.service-account-issuer=kubernetes/serviceaccount",
        "apiserver.api-audiences=api",
    ]


def test_empty_settings_are_omitted_and_audiences_joined():
    assert mk.extra_config("v1.26.1", {"audiences": ["api", "spire-server"], "issuer": ""}) == [
        "apiserver.api-audiences=api,spire-server"]
    assert mk.extra_config("v1.26.1") == []
    assert mk.extra_config(None, {"issuer": "x"}) == ["apiserver.service-account-issuer=x"]


def test_audiences_need_a_version():
    with pytest.raises(mk.MinikubeError, match="service_account.audiences needs kubernetes_version"):
        mk.extra_config(None, {"audiences": ["api"]})


def test_user_extra_appended_and_checked():
    assert mk.extra_config("v1.26.1", extra=["kubelet.max-pods=150"]) == ["kubelet.max-pods=150"]
    with pytest.raises(mk.MinikubeError, match="component.key=value"):
        mk.extra_config("v1.26.1", extra=["--kubelet.max-pods=150"])


def test_removed_flag_in_user_extra_rejected_on_new_versions():
    with pytest.raises(mk.MinikubeError, match="removed in Kubernetes 1.25"):
        mk.extra_config("v1.26.1", extra=["apiserver.service-account-api-audiences=api"])
    assert mk.extra_config("v1.24.1", extra=["apiserver.service-account-api-audiences=api"]) == [
        "apiserver.service-account-api-audiences=api"]


@pytest.mark.parametrize("version", ["latest", "", "1", None, 126])
def test_bad_version_is_explained(version):
    with pytest.raises(mk.MinikubeError, match="kubernetes_version"):
        mk.audiences_key(version)


# --- parsing -------------------------------------------------------------------------------------------------


def test_profile_list_fixture_parses():
    data = profiles("profile_list_running.json")
    assert [p["Name"] for p in data["valid"]] == ["meshlab", "minikube"] and data["invalid"] == []
    settings = mk.profile_settings(data["valid"][0]["Config"])
    assert settings == {
        "driver": "docker", "cpus": 4, "memory_mb": 8192, "kubernetes_version": "v1.26.15",
        "container_runtime": "docker",
        "extra_config": mk.extra_config("v1.26.15", TUTORIAL),
    }


@pytest.mark.parametrize("raw", ["", '{"invalid":[],"valid":[]}',
                                 '{"error":{"Fatal":false,"Message":"No minikube profile was found.",'
                                 '"Name":"MK_USAGE_NO_PROFILE"}}'])
def test_no_profiles(raw):
    assert mk.parse_profile_list(raw) == {"valid": [], "invalid": []}


def test_profile_list_errors_are_operational():
    with pytest.raises(mk.MinikubeError, match="printed no JSON.*permission denied"):
        mk.parse_profile_list("oops", rc=80, stderr="open /root/.minikube: permission denied")
    with pytest.raises(mk.MinikubeError, match="profile list failed"):
        mk.parse_profile_list('{"error":{"Op":"open","Path":"/x","Err":2}}', rc=80)
    with pytest.raises(mk.MinikubeError, match="not a JSON object"):
        mk.parse_profile_list("[]")


def test_status_single_and_multi_node():
    assert mk.status_running(status("status_running.json")) is True
    assert mk.status_running(status("status_stopped.json")) is False
    assert mk.status_running(status("status_multinode_running.json")) is True
    assert mk.status_running(status("status_multinode_worker_stopped.json")) is False
    assert mk.parse_status("") is None and mk.parse_status("not json") is None
    assert mk.parse_status('{"Name": "x"}') is None
    assert mk.status_running(None) is None


def test_versions():
    assert mk.parse_tool_version(fixture("version_v1.37.0.json")) == "v1.37.0"
    assert mk.parse_tool_version("v1.36.0\n") == "v1.36.0"
    assert mk.parse_tool_version("minikube version: v1.35.0\ncommit: abc\n") == "v1.35.0"
    assert mk.parse_tool_version("") is None
    supported = mk.parse_supported_versions(fixture("kubernetes_versions_v1.37.0.json"))
    assert supported[0] == "v1.34.0" and supported[-1] == "v1.28.0"
    assert mk.parse_supported_versions("* v1.34.0") is None


def test_kubernetes_version_older_than_minikube_supports():
    supported = mk.parse_supported_versions(fixture("kubernetes_versions_v1.37.0.json"))
    problem = mk.version_support_problem("v1.26.15", supported, "v1.37.0")
    assert problem.startswith("kubernetes_version v1.26.15 is older than minikube v1.37.0 supports "
                              "(v1.28.0 to v1.34.0)")
    assert "Nothing was changed" in problem
    assert mk.version_support_problem("v1.28.0", supported, "v1.37.0") is None
    assert mk.version_support_problem("v1.35.1", supported, "v1.37.0") is None  # newer: minikube only warns
    assert mk.version_support_problem("v1.26.15", None, "v1.37.0") is None  # unknown: minikube decides


# --- the plan (ported from the minikube_profile_plan filter tests) ----------------------------------------------


def plan(profile_list, status_nodes=None, **kw):
    kw.setdefault("desired", desired())
    return mk.plan_profile(profile_list, status_nodes, "meshlab", **kw)


def with_config(**over):
    data = copy.deepcopy(profiles("profile_list_running.json"))
    config = data["valid"][0]["Config"]
    kube = over.pop("kube", {})
    config.update(over)
    config["KubernetesConfig"].update(kube)
    return data


def test_no_profile_means_create():
    result = plan(profiles("profile_list_empty.json"))
    assert result["action"] == "create" and result["changed"] is True and result["exists"] is False
    assert result["before"] == {"state": "absent"}
    assert result["after"]["state"] == "running" and result["after"]["cpus"] == 4


def test_other_profile_only_means_create():
    data = profiles("profile_list_running.json")
    assert mk.plan_profile(data, None, "other", desired())["action"] == "create"


def test_same_settings_running_is_left_alone():
    result = plan(profiles("profile_list_running.json"), status("status_running.json"))
    assert result["action"] == "none" and result["changed"] is False
    assert result["drift"] == [] and result["running"] is True
    assert result["before"] == result["after"]


def test_profile_list_status_used_without_status_output():
    assert plan(profiles("profile_list_running.json"))["action"] == "none"  # "OK" in v1.37
    legacy = profiles("profile_list_running.json")
    legacy["valid"][0]["Status"] = "Running"  # before the status codes
    assert plan(legacy)["action"] == "none"


def test_status_json_wins_over_profile_list():
    result = plan(profiles("profile_list_running.json"), status("status_stopped.json"))
    assert result["action"] == "start"
    assert "not running (host Stopped, kubelet Stopped, apiserver Stopped)" in result["message"]
    assert plan(profiles("profile_list_stopped.json"), status("status_running.json"))["action"] == "none"


def test_stopped_with_same_settings_is_started():
    result = plan(profiles("profile_list_stopped.json"))
    assert result["action"] == "start" and "Stopped" in result["message"]
    assert result["before"]["state"] == "stopped" and result["after"]["state"] == "running"


def test_version_without_v_prefix_matches():
    assert plan(with_config(kube={"KubernetesVersion": "1.26.15"}))["action"] == "none"
    assert plan(profiles("profile_list_running.json"), desired=desired(kubernetes_version="1.26.15"))["action"] == "none"


def test_different_settings_are_a_conflict_without_recreate():
    result = plan(profiles("profile_list_other_settings.json"))
    assert result["action"] == "conflict" and result["changed"] is False
    assert result["drift"][:4] == [
        "cpus: profile has 2, wanted 4",
        "memory_mb: profile has 4096, wanted 8192",
        "kubernetes_version: profile has v1.34.0, wanted v1.26.15",
        "extra-config apiserver.service-account-signing-key-file: not set in profile, "
        "wanted /var/lib/minikube/certs/sa.key",
    ]
    assert "recreate=true" in result["message"] and "Nothing was changed" in result["message"]
    assert result["before"]["cpus"] == 2 and result["after"]["cpus"] == 4
    assert result["before"]["extra_config"] == [] and len(result["after"]["extra_config"]) == 4


def test_different_settings_recreate_when_asked():
    result = plan(with_config(Driver="podman"), recreate=True)
    assert result["action"] == "recreate" and result["changed"] is True
    assert result["drift"] == ["driver: profile has podman, wanted docker"]
    assert result["before"]["driver"] == "podman" and result["after"]["driver"] == "docker"


def test_settings_not_asked_for_are_not_compared():
    result = plan(profiles("profile_list_other_settings.json"),
                  desired=mk.desired_settings({"profile": "meshlab", "extra_config": []}))
    assert result["action"] == "none"
    assert result["before"] == {"extra_config": [], "state": "running"}


def test_container_runtime_compared_when_asked():
    result = plan(profiles("profile_list_running.json"), desired=desired(container_runtime="containerd"))
    assert result["drift"] == ["container_runtime: profile has docker, wanted containerd"]


def test_missing_and_unwanted_token_flags_are_drift_but_foreign_options_are_not():
    data = with_config(kube={"ExtraOptions": [
        {"Component": "apiserver", "Key": "service-account-api-audiences", "Value": "api"},
        {"Component": "kubeadm", "Key": "pod-network-cidr", "Value": "10.244.0.0/16"},
    ]})
    drift = plan(data, desired=desired(service_account={"issuer": "kubernetes/serviceaccount",
                                                        "audiences": ["api"]}))["drift"]
    assert drift == [
        "extra-config apiserver.service-account-issuer: not set in profile, wanted kubernetes/serviceaccount",
        "extra-config apiserver.api-audiences: not set in profile, wanted api",
        "extra-config apiserver.service-account-api-audiences: profile has api, not wanted",
    ]


def test_changed_flag_value_is_drift():
    data = profiles("profile_list_running.json")
    options = data["valid"][0]["Config"]["KubernetesConfig"]["ExtraOptions"]
    options[2]["Value"] = "https://kubernetes.default.svc.cluster.local"
    assert plan(data)["drift"] == [
        "extra-config apiserver.service-account-issuer: profile has https://kubernetes.default.svc.cluster.local, "
        "wanted kubernetes/serviceaccount"]


def test_user_extra_config_is_compared():
    result = plan(profiles("profile_list_running.json"), desired=desired(extra_config=["kubelet.max-pods=150"]))
    assert result["drift"] == ["extra-config kubelet.max-pods: not set in profile, wanted 150"]


def test_invalid_profile_is_conflict_or_recreate_and_deleted_by_absent():
    data = profiles("profile_list_invalid.json")
    assert plan(data)["action"] == "conflict"
    assert plan(data)["drift"][0] == "profile is listed as invalid by minikube"
    assert plan(data, recreate=True)["action"] == "recreate"
    assert plan(data, state="absent")["action"] == "delete"


def test_stopped_and_absent_states():
    running, stopped, empty = (profiles("profile_list_running.json"), profiles("profile_list_stopped.json"),
                               profiles("profile_list_empty.json"))
    assert plan(running, status("status_running.json"), state="stopped")["action"] == "stop"
    assert plan(stopped, status("status_stopped.json"), state="stopped")["action"] == "none"
    assert plan(empty, state="stopped")["action"] == "none"
    # stopping ignores settings: the other-settings profile is stopped, not a conflict
    assert plan(profiles("profile_list_other_settings.json"), state="stopped")["action"] == "stop"
    deleted = plan(running, state="absent")
    assert deleted["action"] == "delete" and deleted["after"] == {"state": "absent"}
    assert plan(empty, state="absent")["action"] == "none"


# --- argv ------------------------------------------------------------------------------------------------------


def test_start_argv_has_every_asked_setting_and_the_flags():
    argv = mk.start_argv("/bin/minikube", "meshlab", desired(), PARAMS)
    assert argv == [
        "/bin/minikube", "start", "--profile=meshlab", "--driver=docker", "--cpus=4", "--memory=8192mb",
        "--disk-size=20g", "--kubernetes-version=v1.26.15", "--wait=all", "--wait-timeout=900s",
        "--extra-config=apiserver.service-account-signing-key-file=/var/lib/minikube/certs/sa.key",
        "--extra-config=apiserver.service-account-key-file=/var/lib/minikube/certs/sa.pub",
        "--extra-config=apiserver.service-account-issuer=kubernetes/serviceaccount",
        "--extra-config=apiserver.api-audiences=api",
    ]
    minimal = mk.desired_settings({"profile": "p"})
    assert mk.start_argv("minikube", "p", minimal, {}) == ["minikube", "start", "--profile=p", "--wait=all"]
    runtime = desired(container_runtime="containerd")
    assert "--container-runtime=containerd" in mk.start_argv("m", "meshlab", runtime, PARAMS)


@pytest.mark.parametrize("field,value", [("cpus", 0), ("memory_mb", -1), ("cpus", True)])
def test_bad_amounts(field, value):
    with pytest.raises(mk.MinikubeError, match=field):
        desired(**{field: value})


def test_fixture_files_are_json():
    for path in FIXTURES.glob("*.json"):
        json.loads(path.read_text())
