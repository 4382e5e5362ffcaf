"""meshsim start/stop/status as a molecule prepare/cleanup step uses them (no cluster: API unreachable)."""

import json
import os
import socket
import subprocess
import time

import pytest

from meshsim_objects import CLOSED_PORT_KUBECONFIG

MESHSIM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "meshsim")


def _meshsim(*args, timeout=60):
    return subprocess.run([MESHSIM] + list(args), capture_output=True, text=True, timeout=timeout, check=False)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(CLOSED_PORT_KUBECONFIG)
    return str(path)


def test_start_status_stop(tmp_path, kubeconfig):
    state = str(tmp_path / "state")
    started = _meshsim("start", "--kubeconfig", kubeconfig, "--state-dir", state, "--api-timeout", "120",
                       "--route-controller-name", "linkerd.io/policy-controller")
    assert started.returncode == 0, started.stderr
    assert "router http://127.0.0.1:" in started.stdout
    pid = int(open(os.path.join(state, "meshsim.pid"), encoding="utf-8").read())
    assert _alive(pid)
    again = _meshsim("start", "--kubeconfig", kubeconfig, "--state-dir", state)
    assert again.returncode == 1 and "already running" in again.stderr
    # the status exists as soon as start returns (callers read it at once), not only after the first reconcile
    status = _meshsim("status", "--state-dir", state)
    assert status.returncode == 0 and json.loads(status.stdout)["router"].startswith("http://127.0.0.1:")
    # start hands its options to the background run: the HTTPRoute status is written under the name given
    assert json.loads(status.stdout)["route_controller_name"] == "linkerd.io/policy-controller"
    stopped = _meshsim("stop", "--state-dir", state)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not _alive(pid) and not os.path.exists(os.path.join(state, "meshsim.pid"))
    assert _meshsim("stop", "--state-dir", state).stdout.strip() == "meshsim not running"
    assert "API read failed" in open(os.path.join(state, "meshsim.log"), encoding="utf-8").read()


def test_exits_by_itself_when_the_api_stays_unreachable(tmp_path, kubeconfig):
    state = str(tmp_path / "state")
    assert _meshsim("start", "--kubeconfig", kubeconfig, "--state-dir", state, "--api-timeout", "2").returncode == 0
    pid = int(open(os.path.join(state, "meshsim.pid"), encoding="utf-8").read())
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)
    assert "API unreachable" in open(os.path.join(state, "meshsim.log"), encoding="utf-8").read()


def test_max_runtime_bounds_the_process(tmp_path, kubeconfig):
    state = str(tmp_path / "state")
    run = _meshsim("run", "--kubeconfig", kubeconfig, "--state-dir", state, "--max-runtime", "1", timeout=30)
    assert run.returncode == 0 and "max runtime" in run.stderr


def test_bad_fault_switch_is_refused_before_starting(tmp_path, kubeconfig):
    res = _meshsim("start", "--kubeconfig", kubeconfig, "--state-dir", str(tmp_path / "s"),
                   "--backend-fault", "version=2:explode")
    assert res.returncode == 2 and "backend fault" in res.stderr
    assert not os.path.exists(tmp_path / "s" / "meshsim.pid")


def test_bad_route_controller_name_is_refused_before_starting(tmp_path, kubeconfig):
    res = _meshsim("start", "--kubeconfig", kubeconfig, "--state-dir", str(tmp_path / "s"),
                   "--route-controller-name", "Linkerd")
    assert res.returncode == 2 and "--route-controller-name" in res.stderr
    assert "Gateway API controllerName" in res.stderr and "linkerd.io/policy-controller" in res.stderr
    assert not os.path.exists(tmp_path / "s" / "meshsim.pid")


def test_status_exists_when_start_returns_even_while_the_api_hangs(tmp_path):
    """`meshsim start` returns once meshsim is ready; its callers (e2e, molecule) read status.json at once. An API
    server that accepts and never answers holds the first reconcile, so the status must come before ready."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # accepts connections (backlog) and never answers
    try:
        path = tmp_path / "kubeconfig"
        path.write_text(CLOSED_PORT_KUBECONFIG.replace("127.0.0.1:9", "127.0.0.1:%d" % hung.getsockname()[1]))
        state = str(tmp_path / "state")
        started = _meshsim("start", "--kubeconfig", str(path), "--state-dir", state, "--api-timeout", "120")
        assert started.returncode == 0, started.stderr
        try:
            with open(os.path.join(state, "status.json"), encoding="utf-8") as fh:
                assert json.load(fh)["router"].startswith("http://127.0.0.1:")
        finally:
            assert _meshsim("stop", "--state-dir", state).returncode == 0
    finally:
        hung.close()
