"""What meshsim runs for a pod, read from its spec; kwok Logs/Exec specs."""

import pytest

from meshsim_lib import podspec

from meshsim_lib.tutorial import FRONTEND_ARGS

from meshsim_objects import backend_pod, frontend_pod


def test_frontend_argv_is_the_container_command_and_args():
    container = frontend_pod("f")["spec"]["containers"][0]
    assert podspec.container_argv(container) == ["/bin/sh", "-c", "--", FRONTEND_ARGS]


def test_sleep_scale_rewrites_only_sleep_literals():
    container = frontend_pod("f")["spec"]["containers"][0]
    argv = podspec.container_argv(container, sleep_scale=0.1)
    assert argv[3] == "sleep 1; while true; do curl -s http://backend-svc/; sleep 0.1 && echo ' '; done"
    assert podspec.scale_sleeps("sleep 0.5; nosleep 3", 2) == "sleep 1; nosleep 3"


def test_container_without_command_is_refused():
    with pytest.raises(podspec.SpecError, match="command"):
        podspec.container_argv({"name": "c", "args": ["x"]})


def test_env_has_spec_values_and_proxy_but_not_value_from():
    container = {"name": "c", "command": ["true"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {}}}]}
    env = podspec.container_env(container, "pod-a", "http://127.0.0.1:5", {"PATH": "/bin", "http_proxy": "x"})
    assert env["A"] == "1" and "B" not in env and env["PATH"] == "/bin" and env["HOSTNAME"] == "pod-a"
    assert env["http_proxy"] == "http://127.0.0.1:5"
    assert "backend-svc" not in env["no_proxy"]


def test_configmap_mount_of_backend_pod():
    pod = backend_pod("b", "2")
    assert podspec.configmap_mount(pod, pod["spec"]["containers"][0]) == ("/etc/nginx", "backend-v2")
    assert podspec.container_ports(pod["spec"]["containers"][0]) == [80]
    with pytest.raises(podspec.SpecError, match="ConfigMap"):
        podspec.configmap_mount(frontend_pod("f"), frontend_pod("f")["spec"]["containers"][0])


def test_sidecar_containers_are_skipped():
    pod = backend_pod("b", "1")
    sidecar = {"name": "nginx-mesh-sidecar", "image": "sidecar"}
    pod["spec"]["containers"].insert(0, sidecar)
    assert podspec.backend_container(pod)["name"] == "backend-v1"
    front = frontend_pod("f")
    front["spec"]["containers"].append(sidecar)
    run, skipped = podspec.runnable_containers(front)
    assert [c["name"] for c in run] == ["frontend"] and skipped == ["nginx-mesh-sidecar"]
    with pytest.raises(podspec.SpecError, match="command"):
        podspec.runnable_containers(pod)
    with pytest.raises(podspec.SpecError, match="ConfigMap"):
        podspec.backend_container(front)


def test_kwok_specs():
    logs = podspec.logs_spec([("frontend", "/s/c.log", "/s/p.log")])
    assert logs == {"logs": [{"containers": ["frontend"], "logsFile": "/s/c.log", "previousLogsFile": "/s/p.log",
                              "follow": True}]}
    with pytest.raises(podspec.SpecError, match="absolute"):
        podspec.logs_spec([("frontend", "c.log", "/s/p.log")])
    execs = podspec.exec_spec([("frontend", "/s", {"http_proxy": "http://127.0.0.1:5", "a": "b"})])
    envs = [{"name": "a", "value": "b"}, {"name": "http_proxy", "value": "http://127.0.0.1:5"}]
    assert execs["execs"][0]["local"] == {"workDir": "/s", "envs": envs}
