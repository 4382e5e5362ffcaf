"""meshsim end to end on loopback, with the API replaced by in-memory objects.

Real nginx per backend pod, the real router, the frontend's own shell command
running curl through http_proxy, CRI log files: everything but the apiserver.
"""

import copy
import http.client
import os
import re
import subprocess
import time

import pytest

from meshsim_lib import cli, controller, cri, faults

from meshsim_lib.tutorial import NGINX_CONF

from meshsim_objects import backend_pod, frontend_pod, http_route, traffic_split, tutorial_services

VERSION = re.compile(r'"version":"(?P<version>\d+)"')


class FakeKube:
    """Stands in for meshsim_lib.kube.Kube: objects in memory, kwok hooks recorded."""

    def __init__(self):
        self.namespace = "default"
        self.objs = {"pods": [backend_pod("backend-v1-a", "1"), backend_pod("backend-v2-a", "2"),
                              frontend_pod("frontend-a")],
                     "services": tutorial_services(), "splits": [traffic_split(90, 10)], "routes": []}
        self.configmaps = {"backend-v1": {"nginx.conf": NGINX_CONF % "1"},
                           "backend-v2": {"nginx.conf": NGINX_CONF % "2"}}
        self.hooks = {}
        self.deleted = []
        self.restarts = []

    def list_all(self):
        return copy.deepcopy(self.objs)

    def configmap_data(self, name):
        return dict(self.configmaps[name])

    def apply_pod_hooks(self, pod, logs_spec, exec_spec):
        self.hooks[pod["metadata"]["name"]] = (logs_spec, exec_spec)

    def record_restart(self, pod_name, container, restarts, started_at, finished_at):
        self.restarts.append((pod_name, container, restarts, started_at <= finished_at))
        self.recorded_at = time.monotonic()

    def delete_pod_hooks(self, name):
        self.deleted.append(name)

    def pod(self, name):
        return next(p for p in self.objs["pods"] if p["metadata"]["name"] == name)


def _responses(path):
    if not os.path.exists(path):
        return []
    return [cri.parse_line(line)[3] for line in open(path, "rb").read().splitlines()]


@pytest.fixture
def sim(tmp_path):
    kube = FakeKube()
    opts = cli.build_parser().parse_args(["run", "--kubeconfig", "unused", "--state-dir", str(tmp_path),
                                          "--frontend-sleep-scale", "0.02"])
    ctl = controller.Controller(kube, str(tmp_path), faults.NO_SWITCHES, opts)
    ctl.start_router()
    yield kube, ctl
    ctl.shutdown()


def _run_until(ctl, kube, cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ctl.reconcile(kube.list_all())
        if cond():
            return True
        time.sleep(0.2)
    return False


def _reconcile(ctl, kube):
    """One reconcile pass, then wait until Envoy serves what it wrote (file watch: milliseconds)."""
    ctl.reconcile(kube.list_all())
    assert ctl.envoy.wait_applied(), (ctl.envoy.versions, ctl.envoy.served_versions())


def _get(port, host="backend-svc"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "http://%s/" % host)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def test_frontend_logs_follow_the_split_and_faults(sim):
    kube, ctl = sim
    assert _run_until(ctl, kube, lambda: len(ctl.frontends) == 1 and len(ctl.snapshot.ports) == 2)
    proc = ctl.frontends["frontend-a"].containers["frontend"]
    assert _run_until(ctl, kube, lambda: len(_responses(proc.log.path)) >= 300), _responses(proc.log.path)[-5:]

    lines = _responses(proc.log.path)
    versions = [m.group("version") for m in map(VERSION.search, lines) if m]
    assert len(versions) == len(lines), [l for l in lines if not VERSION.search(l)][:3]  # every line a response
    share_v2 = versions.count("2") / len(versions)
    assert 0.04 < share_v2 < 0.16, (share_v2, len(versions))
    assert all(l.endswith(" ") for l in lines)  # the tutorial's `echo ' '` after each body

    # kwok hooks: absolute CRI log paths and an exec env that goes through the router
    logs_spec, exec_spec = kube.hooks["frontend-a"]
    assert logs_spec["logs"][0]["logsFile"] == proc.log.path
    local = exec_spec["execs"][0]["local"]
    env = dict(os.environ, **{e["name"]: e["value"] for e in local["envs"]})
    probe = subprocess.run(["sh", "-c", "for i in 1 2 3 4 5 6; do curl -s http://backend-svc/; echo; done"],
                           cwd=local["workDir"], env=env, capture_output=True, text=True, timeout=30, check=True)
    assert len(VERSION.findall(probe.stdout)) == 6, probe.stdout

    # a new split is followed on the next poll
    kube.objs["splits"] = [traffic_split(0, 100)]
    _reconcile(ctl, kube)
    assert {_get(ctl.router_port)[1] for dummy in range(50)} == {'{"name":"backend","version":"2"}'}

    # misrouting: the root Service annotation makes the router ignore the weights
    kube.objs["services"][0]["metadata"]["annotations"][faults.MISROUTE] = "uniform"
    _reconcile(ctl, kube)
    bodies = [_get(ctl.router_port)[1] for dummy in range(200)]
    assert 60 < sum('"version":"1"' in b for b in bodies) < 140
    kube.objs["services"][0]["metadata"]["annotations"].clear()

    # v2 answers 500, then an empty body
    kube.pod("backend-v2-a")["metadata"]["annotations"][faults.FAULT] = "http500"
    _reconcile(ctl, kube)
    status, body = _get(ctl.router_port)
    assert status == 500 and "500 Internal Server Error" in body and "\n" not in body
    kube.pod("backend-v2-a")["metadata"]["annotations"][faults.FAULT] = "empty"
    _reconcile(ctl, kube)
    assert _get(ctl.router_port) == (200, "")


def test_frontend_restart_rotates_log_and_pod_churn(sim):
    kube, ctl = sim
    assert _run_until(ctl, kube, lambda: ctl.frontends and len(
        _responses(ctl.frontends["frontend-a"].containers["frontend"].log.path)) >= 20)
    proc = ctl.frontends["frontend-a"].containers["frontend"]
    first_pid = proc.proc.pid
    before = len(_responses(proc.log.path))

    kube.pod("frontend-a")["metadata"]["annotations"][faults.RESTART] = "1"
    _reconcile(ctl, kube)
    assert proc.restarts == 1 and proc.proc.pid != first_pid
    assert kube.restarts == [("frontend-a", "frontend", 1, True)]
    assert len(_responses(proc.log.previous_path)) >= before  # old output kept as "previous"
    assert _run_until(ctl, kube, lambda: len(_responses(proc.log.path)) >= 5)
    _reconcile(ctl, kube)
    assert proc.restarts == 1  # same token: no second restart

    # a late pod status: the log rotates and the new process starts at once, the status follows 0.3 s later
    kube.pod("frontend-a")["metadata"]["annotations"][faults.RESTART_STATUS_DELAY] = "0.3"
    kube.pod("frontend-a")["metadata"]["annotations"][faults.RESTART] = "2"
    restarted_at = time.monotonic()
    ctl.reconcile(kube.list_all())
    assert proc.restarts == 2 and len(kube.restarts) == 1  # rotated, not yet published
    deadline = time.monotonic() + 10
    while len(kube.restarts) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kube.restarts[1] == ("frontend-a", "frontend", 2, True)
    assert kube.recorded_at - restarted_at >= 0.3
    kube.pod("frontend-a")["metadata"]["annotations"][faults.RESTART_STATUS_DELAY] = "soon"
    with pytest.raises(faults.SwitchError, match="restart-status-delay='soon': seconds expected"):
        faults.restart_status_delay(kube.pod("frontend-a"))

    # rollout: v2 pod replaced by a new one, the old nginx is stopped, the new one serves
    old_nginx = ctl.backends["backend-v2-a"][1]
    kube.objs["pods"] = [p for p in kube.objs["pods"] if p["metadata"]["name"] != "backend-v2-a"]
    kube.objs["pods"].append(backend_pod("backend-v2-b", "2"))
    kube.objs["splits"] = [traffic_split(0, 100)]
    assert _run_until(ctl, kube, lambda: "backend-v2-b" in ctl.snapshot.ports, timeout=15)
    assert not old_nginx.alive() and "backend-v2-a" not in ctl.snapshot.ports
    assert ctl.envoy.wait_applied()
    assert _get(ctl.router_port)[1] == '{"name":"backend","version":"2"}'

    # frontend pod deleted: process ended, kwok hooks deleted
    kube.objs["pods"] = [p for p in kube.objs["pods"] if p["metadata"]["name"] != "frontend-a"]
    _reconcile(ctl, kube)
    assert not proc.alive() and kube.deleted == ["frontend-a"]

    nginxes = [entry[1] for entry in ctl.backends.values()]
    assert len(nginxes) == 2 and all(ng.alive() for ng in nginxes)
    ctl.shutdown()
    assert not any(ng.alive() for ng in nginxes) and not ctl.backends


def _versions(port, n, host="backend-svc"):
    return [_get(port, host)[1] for dummy in range(n)]


def test_envoy_carries_splits_leaks_and_other_hosts(sim):
    kube, ctl = sim
    kube.objs["pods"] = [p for p in kube.objs["pods"] if p["metadata"]["name"] != "frontend-a"]  # no other client
    assert _run_until(ctl, kube, lambda: len(ctl.snapshot.ports) == 2)
    assert ctl.envoy.wait_applied()
    port = ctl.router_port
    v1, v2 = '{"name":"backend","version":"1"}', '{"name":"backend","version":"2"}'

    # 90/10 through the real Envoy: the v2 share within 4 sigma of 0.1 over 2000 requests
    bodies = _versions(port, 2000)
    assert set(bodies) == {v1, v2}
    assert abs(bodies.count(v2) - 200) <= 4 * (2000 * 0.1 * 0.9) ** 0.5, bodies.count(v2)
    served = ctl.envoy.served_routes()
    vhost = next(v for v in served["virtual_hosts"] if v["name"] == "service/backend-svc")
    assert vhost["routes"][0]["route"]["weighted_clusters"]["clusters"] == [
        {"name": "backend-v1", "weight": 9}, {"name": "backend-v2", "weight": 1}]

    # leak: exactly N requests to backend-v1 under 0/100, once per annotation value, route rewrites included
    kube.objs["splits"] = [traffic_split(0, 100)]
    root = kube.objs["services"][0]["metadata"]["annotations"]
    root[faults.LEAK] = "backend-v1=3"
    _reconcile(ctl, kube)
    assert _versions(port, 20) == [v1] * 3 + [v2] * 17
    kube.objs["services"][2]["metadata"]["annotations"]["unrelated"] = "x"  # rewrites routes: no second leak
    kube.objs["splits"] = [traffic_split(0, 1)]
    _reconcile(ctl, kube)
    assert _versions(port, 10) == [v2] * 10
    root[faults.LEAK] = "backend-v1=1"  # a new value leaks again
    _reconcile(ctl, kube)
    assert _versions(port, 5) == [v1] + [v2] * 4
    root.pop(faults.LEAK)

    # a bad switch answers 502 (Envoy for the root Service, nginx for a backend pod)
    root[faults.MISROUTE] = "sometimes"
    _reconcile(ctl, kube)
    status, body = _get(port)
    assert status == 502 and "bad fault switch" in body
    root.pop(faults.MISROUTE)
    kube.pod("backend-v2-a")["metadata"]["annotations"][faults.FAULT] = "explode"
    _reconcile(ctl, kube)
    assert _get(port)[0] == 502
    kube.pod("backend-v2-a")["metadata"]["annotations"].pop(faults.FAULT)
    _reconcile(ctl, kube)
    assert _get(port) == (200, v2)

    # other hosts: a version Service directly, an unknown host, a Gateway's route, a v1alpha1 split
    assert _versions(port, 3, "backend-v1.default.svc.cluster.local") == [v1] * 3
    assert _get(port, "example.com")[0] == 502
    route = http_route(0, 100, name="gw-route")
    route["spec"]["parentRefs"] = [{"name": "lab-gw"}]
    route["spec"]["hostnames"] = ["shop.example"]
    kube.objs["routes"] = [route]
    split = traffic_split(0, 0)
    split["spec"]["backends"][0]["weight"] = "1"
    split["spec"]["backends"][1]["weight"] = "0m"
    kube.objs["splits"] = [split]
    _reconcile(ctl, kube)
    assert _versions(port, 5, "shop.example") == [v2] * 5
    assert _versions(port, 5) == [v1] * 5
    kube.objs["splits"] = []  # no split: round robin over the root Service's pods
    _reconcile(ctl, kube)
    assert sorted(_versions(port, 4)) == [v1, v1, v2, v2]

    # no ready endpoint: 503 from Envoy
    kube.objs["splits"] = [traffic_split(0, 100)]
    kube.pod("backend-v2-a")["status"]["conditions"][0]["status"] = "False"
    _reconcile(ctl, kube)
    assert _get(port)[0] == 503
