"""module_utils._minikube_preflight: the probes' parsers, the auto sizing and the judgement.

docker/podman fixtures have the shape of ``docker info --format '{{json .}}'`` and ``podman info --format json``
(the commands minikube itself reads, pkg/drivers/kic/oci/info.go), trimmed; not recorded from a live run.
"""

import pathlib

import pytest

from ansible_collections.meshlab.canary.plugins.module_utils import _minikube_preflight as pf
from ansible_collections.meshlab.canary.plugins.module_utils._minikube import MinikubeError

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "minikube"
GIB = 1024 ** 3

ROLE_NAMES = {"cpus": "minikube_cpus", "memory_mb": "minikube_memory_mb", "driver": "minikube_driver",
              "min_cpus": "minikube_preflight_min_cpus", "min_memory_mb": "minikube_preflight_min_free_memory_mb",
              "min_free_disk_gb": "minikube_preflight_min_free_disk_gb"}

REQUEST = dict(driver="docker", driver_candidates=["docker", "podman", "kvm2"], cpus="auto", memory_mb="auto",
               comfortable_cpus=4, comfortable_memory_mb=8192, min_cpus=2, min_memory_mb=2048, min_free_disk_gb=20,
               disk_paths=["~"], minikube_version="v1.36.0", helm_version="v3.19.3",
               install=["minikube", "helm", "kubectl"], names=ROLE_NAMES)


def fixture(name):
    return (FIXTURES / name).read_text()


def host(**over):
    facts = {
        "cpus": 8, "memory_total_mb": 16000, "memory_available_mb": 9000,
        "disks": [{"path": "/home/me", "free_bytes": 50 * GIB}],
        "drivers": [{"name": "docker", "usable": True, "probed": True, "detail": "docker 28.4.0"},
                    {"name": "podman", "usable": False, "probed": True, "detail": "podman not found on PATH"}],
        "tools": {"minikube": {"found": True, "path": "/home/me/.local/bin/minikube", "version": "v1.36.0"},
                  "helm": {"found": False, "path": None, "version": None},
                  "kubectl": {"found": True, "path": "/usr/bin/kubectl", "version": None}},
    }
    facts.update(over)
    return facts


def judge(facts=None, **over):
    return pf.judge(facts or host(), dict(REQUEST, **over))


# --- parsers ---------------------------------------------------------------------------------------------------


def test_meminfo():
    assert pf.parse_meminfo(fixture("meminfo_8g.txt")) == {"total_mb": 7940, "available_mb": 5383}
    old = "MemTotal: 2048000 kB\nMemFree: 100000 kB\nBuffers: 100000 kB\nCached: 824000 kB\n"
    assert pf.parse_meminfo(old) == {"total_mb": 2000, "available_mb": 1000}
    assert pf.parse_meminfo("") == {"total_mb": None, "available_mb": None}


def test_vm_stat():
    assert pf.parse_vm_stat(fixture("vm_stat_macos.txt"), "17179869184\n".strip()) == {
        "total_mb": 16384, "available_mb": (12345 + 240000 + 8000) * 16384 // (1024 * 1024)}


def test_docker_info():
    up = pf.parse_docker_info(0, fixture("docker_info.json"), "")
    assert up == {"usable": True, "detail": "docker 28.4.0", "version": "28.4.0", "cpus": 2, "memory_mb": 7940}
    down = pf.parse_docker_info(1, fixture("docker_info_daemon_down.json"), "")
    assert down == {"usable": False, "detail": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                                               "Is the docker daemon running?"}
    denied = pf.parse_docker_info(1, "", "permission denied while trying to connect to the Docker daemon socket")
    assert denied["usable"] is False and denied["detail"].startswith("permission denied")


def test_podman_info():
    assert pf.parse_podman_info(0, fixture("podman_info.json"), "") == {
        "usable": True, "detail": "podman 5.4.2", "version": "5.4.2", "cpus": 4, "memory_mb": 15854}
    assert pf.parse_podman_info(125, "", "Error: cannot connect to the Podman socket")["detail"] == \
        "Error: cannot connect to the Podman socket"


def test_plain_probe_and_tool_versions():
    assert pf.parse_plain_probe(0, " Id   Name   State\n----\n", "") == {"usable": True, "detail": "Id   Name   State"}
    assert pf.parse_plain_probe(1, "", "error: failed to connect to the hypervisor\n")["usable"] is False
    assert pf.parse_tool_version("v3.19.3+g1a2b3c4") == "v3.19.3"
    assert pf.parse_tool_version(fixture("version_v1.37.0.json")) == "v1.37.0"
    assert pf.parse_tool_version("") is None


# --- judgement (cases ported from the minikube_preflight filter tests) -------------------------------------------


def test_good_host_passes_and_notes_installs():
    result = judge()
    assert result["ok"] is True, result["problems"]
    assert result["driver"] == "docker"
    assert result["notes"] == ["helm: not found; v3.19.3 will be installed"]


@pytest.mark.parametrize("cpus,memory_total,want_cpus,want_memory", [
    (8, 16000, 4, 7936),   # comfortable caps CPUs; half of 16000 MB rounded down to 256
    (2, 7940, 2, 3840),    # the 2-CPU laptop of the issue: it gets 2, not the old default 4
    (16, 64000, 4, 8192),  # both capped at the comfortable values
    (3, 3000, 3, 2048),    # never below the minimum
])
def test_auto_resolves_to_what_the_host_can_give(cpus, memory_total, want_cpus, want_memory):
    result = judge(host(cpus=cpus, memory_total_mb=memory_total, memory_available_mb=memory_total - 500))
    assert (result["cpus"], result["memory_mb"]) == (want_cpus, want_memory)
    assert result["ok"] is True, result["problems"]


def test_auto_uses_the_docker_daemon_limits_when_smaller():
    drivers = [dict(host()["drivers"][0], cpus=2, memory_mb=5000)]
    result = judge(host(drivers=drivers))
    assert (result["cpus"], result["memory_mb"]) == (2, 2304)
    over = judge(host(drivers=drivers), cpus=4)
    assert over["problems"] == ["CPUs: minikube_cpus is 4 but the docker daemon offers only 2; lower minikube_cpus "
                                "to 2 or less, or set it to auto"]


def test_host_below_minimum_names_the_variable():
    result = judge(host(cpus=1))
    assert result["problems"] == ["CPUs: the host has 1 but the lab needs at least 2 (minikube_preflight_min_cpus); "
                                  "minikube_cpus cannot give it fewer. Use a machine with 2 or more CPUs"]
    assert result["cpus"] == 2
    memory = judge(host(memory_total_mb=1900, memory_available_mb=1500))
    assert memory["problems"][0] == (
        "memory: the host has 1900 MB in total but the lab needs at least 2048 MB "
        "(minikube_preflight_min_free_memory_mb); minikube_memory_mb cannot give it less. Use a bigger machine")


def test_requested_cpus_above_host():
    assert judge(host(cpus=2), cpus=4)["problems"] == [
        "CPUs: minikube_cpus is 4 but the host has only 2; lower minikube_cpus to 2 or less, or set it to auto"]


def test_requested_below_minimum():
    assert judge(cpus=1)["problems"] == [
        "CPUs: minikube_cpus is 1, below the lab's minimum of 2; set minikube_cpus to 2 or more, or to auto"]
    assert judge(memory_mb="1024")["problems"] == [
        "memory: minikube_memory_mb is 1024, below the lab's minimum of 2048 MB; set minikube_memory_mb to 2048 "
        "or more, or to auto"]


def test_low_free_memory():
    result = judge(host(memory_available_mb=1500))
    assert result["problems"] == ["memory: 1500 MB free, the lab needs at least 2048 MB free "
                                  "(minikube_preflight_min_free_memory_mb); close programs or use a bigger machine"]


def test_requested_memory_above_total_and_above_free():
    assert judge(host(memory_total_mb=3000), memory_mb=4096)["problems"] == [
        "memory: minikube_memory_mb is 4096 but the host has 3000 MB in total; lower minikube_memory_mb or set it "
        "to auto"]
    result = judge(host(memory_available_mb=3000), memory_mb=4096)
    assert result["ok"] and result["notes"][0] == (
        "memory: minikube_memory_mb (4096) is above the 3000 MB free now; the cluster may swap")


def test_unknown_memory_and_disk_are_notes():
    result = judge(host(memory_total_mb=None, memory_available_mb=None,
                        disks=[{"path": "/x", "free_bytes": None, "reason": "permission denied"}]))
    assert result["ok"] is True and result["memory_mb"] == 2048
    assert "memory: the host's memory is unknown; not checked" in result["notes"]
    assert "disk: free space for /x not checked (permission denied)" in result["notes"]


def test_low_disk():
    result = judge(host(disks=[{"path": "/home/me", "free_bytes": 5 * GIB}]))
    assert result["problems"] == ["disk: 5.0 GB free on the filesystem holding /home/me, the lab needs at least "
                                  "20 GB (minikube_preflight_min_free_disk_gb)"]


def test_requested_driver_unusable_suggests_alternative():
    drivers = [{"name": "docker", "usable": False, "probed": True, "detail": "permission denied"},
               {"name": "podman", "usable": True, "probed": True, "detail": "podman 5.4.2"}]
    result = judge(host(drivers=drivers))
    assert result["driver"] is None
    assert result["problems"] == ["driver: minikube_driver is docker but it is not usable: permission denied. "
                                  "Usable instead: podman (set minikube_driver)."]


def test_daemon_message_punctuation_kept_once():
    drivers = [{"name": "docker", "usable": False, "probed": True,
                "detail": "Cannot connect. Is the docker daemon running?"}]
    assert judge(host(drivers=drivers))["problems"] == [
        "driver: minikube_driver is docker but it is not usable: Cannot connect. Is the docker daemon running?"]


def test_auto_driver_picks_first_usable():
    drivers = [{"name": "docker", "usable": False, "probed": True, "detail": "x"},
               {"name": "podman", "usable": True, "probed": True}, {"name": "kvm2", "usable": True, "probed": True}]
    assert judge(host(drivers=drivers), driver="auto")["driver"] == "podman"


def test_auto_driver_none_usable():
    drivers = [{"name": "docker", "usable": False, "probed": True, "detail": "docker not found on PATH"}]
    result = judge(host(drivers=drivers), driver="auto")
    assert result["problems"][0].startswith(
        "driver: no usable minikube driver found; tried docker (docker not found on PATH). Install and start one")
    assert result["problems"][0].endswith("or set minikube_driver")


def test_unprobed_driver_is_accepted_with_a_note():
    drivers = [{"name": "none", "usable": None, "probed": False, "detail": "not probed"}]
    result = judge(host(drivers=drivers), driver="none")
    assert result["ok"] and result["driver"] == "none"
    assert result["notes"][0] == "driver: none is not probed here; its availability was not checked"


def test_tools():
    tools = {"minikube": {"found": True, "version": "v1.37.0"}, "helm": {"found": False},
             "kubectl": {"found": False}}
    result = judge(host(tools=tools), install=["helm"])
    assert result["notes"] == ["minikube: found v1.37.0, pinned v1.36.0; installation is off, so the found one is used",
                               "helm: not found; v3.19.3 will be installed"]
    assert result["problems"] == ["kubectl: not found and not installable here (installation switched off or platform "
                                  "unsupported); install kubectl or enable its installation"]
    unknown = judge(host(tools=dict(tools, helm={"found": True, "version": None}, kubectl={"found": True})))
    assert "helm: found (version unknown); v3.19.3 will be installed" in unknown["notes"]


def test_several_problems_reported_together():
    result = judge(host(cpus=1, memory_available_mb=100, drivers=[]), driver="auto")
    assert len(result["problems"]) == 3 and not result["ok"]


@pytest.mark.parametrize("value", ["lots", "", 0, True, None])
def test_bad_amounts_fail_naming_the_variable(value):
    with pytest.raises(MinikubeError, match="minikube_cpus: expected auto or a whole number"):
        judge(cpus=value)


# --- the probes, with injected callables --------------------------------------------------------------------------


class Host(object):
    """A recording stand-in for run/which: programs map to (rc, stdout, stderr)."""

    def __init__(self, programs):
        self.programs = programs
        self.calls = []

    def which(self, name):
        return "/usr/bin/%s" % name if name in self.programs else None

    def run(self, argv):
        self.calls.append(argv)
        name = argv[0].rsplit("/", 1)[-1]
        outcome = self.programs[name]
        return outcome(argv) if callable(outcome) else outcome


def probe(programs, **params):
    fake = Host(programs)
    result = pf.probe_host(dict(REQUEST, **params), fake.run, fake.which, "Linux", cpu_count=lambda: 2,
                           free_bytes=lambda path: 40 * GIB, exists=lambda path: path in ("/", "/home"),
                           read=lambda path: fixture("meminfo_8g.txt"))
    return result, fake


def test_probe_host_on_a_two_cpu_laptop():
    programs = {"docker": (0, fixture("docker_info.json"), ""), "minikube": (0, fixture("version_v1.37.0.json"), ""),
                "helm": (0, "v3.19.3", "")}
    result, fake = probe(programs, disk_paths=["/home/me/.minikube"])
    assert result["ok"] is True, result["problems"]
    assert (result["driver"], result["cpus"], result["memory_mb"]) == ("docker", 2, 3840)
    assert result["host"] == {"system": "Linux", "cpus": 2, "memory_total_mb": 7940, "memory_available_mb": 5383}
    assert result["disks"] == [{"path": "/home/me/.minikube", "checked_path": "/home", "free_bytes": 40 * GIB,
                                "free_gb": 40.0}]
    assert result["tools"]["helm"] == {"found": True, "path": "/usr/bin/helm", "version": "v3.19.3"}
    assert result["tools"]["kubectl"] == {"found": False, "path": None, "version": None}
    assert ["/usr/bin/docker", "info", "--format", "{{json .}}"] in fake.calls
    assert ["/usr/bin/helm", "version", "--template", "{{.Version}}"] in fake.calls
    assert result["notes"] == ["minikube: found v1.37.0; v1.36.0 will be installed",
                               "kubectl: not found; it will be installed"]


def test_probe_host_explicit_driver_down_probes_the_others_for_the_hint():
    programs = {"docker": (1, fixture("docker_info_daemon_down.json"), ""),
                "podman": (0, fixture("podman_info.json"), "")}
    result, fake = probe(programs)
    assert [d["name"] for d in result["drivers"]] == ["docker", "podman", "kvm2"]
    assert result["drivers"][2] == {"name": "kvm2", "usable": False, "probed": True, "detail": "virsh not found on PATH"}
    assert result["problems"][0].endswith("Usable instead: podman (set minikube_driver).")
    assert not any(call[0].endswith("virsh") for call in fake.calls)


def test_probe_host_usable_explicit_driver_probes_only_it():
    result, fake = probe({"docker": (0, fixture("docker_info.json"), "")})
    assert [d["name"] for d in result["drivers"]] == ["docker"]
    assert [call[1] for call in fake.calls] == ["info"]


def test_probe_host_reports_a_recorded_copy_without_running_it():
    programs = {"docker": (0, fixture("docker_info.json"), ""), "helm": (0, "helm-stand-in", "")}
    recorded = {"helm": {"path": "/usr/bin//helm", "version": "v3.19.3"}}
    result, fake = probe(programs, known_versions=recorded)
    assert result["tools"]["helm"] == {"found": True, "path": "/usr/bin/helm", "version": "v3.19.3"}
    assert not any(call[0].endswith("helm") for call in fake.calls)
    elsewhere, fake = probe(programs, known_versions={"helm": {"path": "/opt/helm", "version": "v3.19.3"}})
    assert elsewhere["tools"]["helm"]["version"] is None  # the stand-in answers no version
    assert "helm: found (version unknown); v3.19.3 will be installed" in elsewhere["notes"]


def test_probe_host_disk_error_is_a_note():
    fake = Host({})

    def broken(path):
        raise OSError(13, "Permission denied")
    result = pf.probe_host(dict(REQUEST, disk_paths=["/secret"], install=[]), fake.run, fake.which, "Plan9",
                           cpu_count=lambda: 4, free_bytes=broken, exists=lambda path: True)
    assert result["disks"][0]["free_gb"] is None
    assert "disk: free space for /secret not checked ([Errno 13] Permission denied)" in result["notes"]
    assert result["host"]["memory_total_mb"] is None


def test_nearest_existing():
    assert pf.nearest_existing("/a/b/c", exists=lambda p: p == "/a") == "/a"
    assert pf.nearest_existing("/a/b/c", exists=lambda p: False) == "/"
