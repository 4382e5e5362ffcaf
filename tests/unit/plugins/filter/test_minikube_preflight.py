import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("minikube_preflight")
preflight = mod.minikube_preflight

GIB = 1024 ** 3
REQ = {"min_cpus": 2, "cpus": 2, "min_free_memory_mb": 2048, "memory_mb": 4096, "min_free_disk_gb": 20}


def _host(**over):
    host = {
        "cpus": 4,
        "memory_free_mb": 6000,
        "memory_total_mb": 16000,
        "mounts": [
            {"mount": "/", "size_available": 50 * GIB},
            {"mount": "/home", "size_available": 5 * GIB},
        ],
        "disk_paths": ["/root/.minikube"],
        "driver": "docker",
        "driver_probes": [
            {"name": "docker", "usable": True, "detail": "24.0.7"},
            {"name": "podman", "usable": False, "detail": "command not found"},
        ],
        "tools": [
            {"name": "minikube", "found": True, "version": "v1.37.0", "wanted": "v1.37.0", "installable": True},
            {"name": "helm", "found": False, "version": "", "wanted": "v3.19.3", "installable": True},
        ],
    }
    host.update(over)
    return host


def test_good_host_passes_and_notes_installs():
    result = preflight(_host(), REQ)
    assert result["ok"] is True, result["problems"]
    assert result["driver"] == "docker"
    assert any("helm" in note and "will be installed" in note for note in result["notes"])


def test_too_few_cpus():
    result = preflight(_host(cpus=1), REQ)
    assert not result["ok"]
    assert result["problems"] == ["CPUs: the host has 1, the lab needs at least 2"]


def test_requested_cpus_above_host():
    result = preflight(_host(cpus=2), dict(REQ, cpus=4))
    assert result["problems"] == ["CPUs: minikube_cpus is 4 but the host has only 2; lower minikube_cpus to 2 or less"]


def test_low_free_memory():
    result = preflight(_host(memory_free_mb=1500), REQ)
    assert any(p.startswith("memory: 1500 MB free") for p in result["problems"])


def test_requested_memory_above_total():
    result = preflight(_host(memory_total_mb=3000), REQ)
    assert any("minikube_memory_mb is 4096" in p for p in result["problems"])


def test_disk_uses_longest_mount_prefix():
    assert preflight(_host(disk_paths=["/home/user/.minikube"]), REQ)["problems"] == [
        "disk: 5.0 GB free on the filesystem holding /home/user/.minikube, the lab needs at least 20 GB"
    ]
    assert preflight(_host(disk_paths=["/homework"]), REQ)["ok"] is True


def test_unknown_mounts_are_a_note_not_a_failure():
    result = preflight(_host(mounts=[]), REQ)
    assert result["ok"] is True
    assert any("not checked" in note for note in result["notes"])


def test_requested_driver_unusable_suggests_alternative():
    probes = [{"name": "docker", "usable": False, "detail": "permission denied"},
              {"name": "podman", "usable": True, "detail": "4.9"}]
    result = preflight(_host(driver_probes=probes), REQ)
    assert result["driver"] is None
    assert result["problems"] == [
        "driver: minikube_driver is docker but it is not usable: permission denied. Usable instead: podman (set minikube_driver)."
    ]


def test_auto_driver_picks_first_usable():
    probes = [{"name": "docker", "usable": False, "detail": "x"}, {"name": "podman", "usable": True},
              {"name": "kvm2", "usable": True}]
    assert preflight(_host(driver="auto", driver_probes=probes), REQ)["driver"] == "podman"


def test_auto_driver_none_usable():
    probes = [{"name": "docker", "usable": False, "detail": "command not found"}]
    result = preflight(_host(driver="auto", driver_probes=probes), REQ)
    assert "no usable minikube driver found; tried docker (command not found)" in result["problems"][0]


def test_missing_tool_without_install_fails():
    tools = [{"name": "helm", "found": False, "wanted": "v3.19.3", "installable": False}]
    result = preflight(_host(tools=tools), REQ)
    assert not result["ok"]
    assert result["problems"][0].startswith("helm: not found and not installable")


def test_wrong_version_without_install_is_a_note():
    tools = [{"name": "helm", "found": True, "version": "v3.12.0", "wanted": "v3.19.3", "installable": False}]
    result = preflight(_host(tools=tools), REQ)
    assert result["ok"] is True
    assert any("found v3.12.0, pinned v3.19.3" in note for note in result["notes"])


def test_several_problems_reported_together():
    result = preflight(_host(cpus=1, memory_free_mb=100, driver_probes=[]), REQ)
    assert len(result["problems"]) == 3


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="mappings"):
        preflight([], REQ)
    with pytest.raises(AnsibleFilterError, match="cpus must be a number"):
        preflight(_host(cpus="many"), REQ)


def test_registered_command_results_are_probes():
    results = [
        {"__minikube_driver_name": "docker", "ansible_loop_var": "__minikube_driver_name", "rc": 1,
         "stderr": "Client: 24.0\nCannot connect to the Docker daemon at unix:///var/run/docker.sock", "stdout": ""},
        {"__minikube_driver_name": "podman", "ansible_loop_var": "__minikube_driver_name", "rc": 2,
         "msg": "[Errno 2] No such file or directory: b'podman'"},
        {"__minikube_driver_name": "kvm2", "ansible_loop_var": "__minikube_driver_name", "rc": 0,
         "stdout": " Id   Name   State\n", "stderr": ""},
    ]
    result = preflight(_host(driver="auto", driver_probes=results), REQ)
    assert result["driver"] == "kvm2"
    result = preflight(_host(driver="docker", driver_probes=results[:2]), REQ)
    assert result["problems"] == [
        "driver: minikube_driver is docker but it is not usable: "
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
    ]
    result = preflight(_host(driver="auto", driver_probes=results[:2]), REQ)
    assert "podman ([Errno 2] No such file or directory: b'podman')" in result["problems"][0]


def test_missing_program_is_named():
    results = [{"__minikube_driver_name": "podman", "ansible_loop_var": "__minikube_driver_name", "rc": 2,
                "cmd": "podman info", "msg": "Error executing command.", "stderr": "", "stdout": ""}]
    result = preflight(_host(driver="podman", driver_probes=results), REQ)
    assert result["problems"] == ["driver: minikube_driver is podman but it is not usable: podman not found."]


def test_found_tool_of_unknown_version():
    tools = [{"name": "helm", "found": True, "version": "", "wanted": "v3.19.3", "installable": True},
             {"name": "kubectl", "found": True, "version": "", "wanted": "", "installable": True}]
    result = preflight(_host(tools=tools), REQ)
    assert result["ok"] is True
    assert result["notes"] == ["helm: found (version not checked); v3.19.3 will be installed"]
    tools[0]["installable"] = False
    assert preflight(_host(tools=tools), REQ)["notes"] == [
        "helm: found (version not checked), pinned v3.19.3; installation is off, so the found one is used"]


def test_daemon_message_punctuation_kept_once():
    probes = [{"name": "docker", "usable": False, "detail": "Cannot connect. Is the docker daemon running?"}]
    assert preflight(_host(driver_probes=probes), REQ)["problems"] == [
        "driver: minikube_driver is docker but it is not usable: Cannot connect. Is the docker daemon running?"]
