"""meshsim against the real local control plane (tests/cluster/localcluster), end to end.

Run inside the cluster's network namespace with KUBECONFIG set, e.g.
    tests/cluster/localcluster run -- tests/dataplane/run-cluster-tests
Deploys the tutorial's objects with the kubernetes client, starts meshsim,
and reads the frontend's real output back through ``kubectl logs --timestamps``
and ``kubectl exec`` (served by kwok from meshsim's files and processes).
"""

import datetime
import json
import math
import os
import re
import subprocess
import time
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from meshsim_lib import faults, tutorial
from support import fixtures, waiting

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MESHSIM = os.path.join(REPO, "tests", "dataplane", "meshsim")
VERSION = re.compile(r'"version":"(?P<version>\d+)"')
SLEEP_SCALE = "0.1"  # the frontend's `sleep 10` / `sleep 1` become 1 s / 0.1 s
SETTLE = 2.0         # seconds after a split change before lines count (API poll 0.5 s + Envoy file watch)


def _kubectl(*args, timeout=60, check=True):
    return subprocess.run(["kubectl"] + list(args), capture_output=True, text=True, timeout=timeout, check=check)


def _within(count, n, p, sigmas=4.0):
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


class Lab:
    def __init__(self, namespace, state_dir):
        self.ns = namespace
        self.state_dir = state_dir
        self.api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def deploy(self):
        self.core.create_namespace({"metadata": {"name": self.ns}})
        waiting.namespace_ready(self.api, self.ns)  # the default ServiceAccount lags a new namespace
        for version in ("1", "2"):
            self.core.create_namespaced_config_map(self.ns, tutorial.configmap(version))
        for svc in tutorial.services():
            self.core.create_namespaced_service(self.ns, svc)
        for version in ("1", "2"):
            self.apps.create_namespaced_deployment(self.ns, tutorial.backend_deployment(version))
        self.apps.create_namespaced_deployment(self.ns, tutorial.frontend_deployment())

    def running_pods(self, selector):
        pods = self.core.list_namespaced_pod(self.ns, label_selector=selector).items
        return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]

    def wait_pods(self, timeout=120):
        for name in ("frontend", "backend-v1", "backend-v2"):
            waiting.deployment_available(self.api, self.ns, name, timeout=timeout)
        for selector in ("app=frontend", "app=backend,version=1", "app=backend,version=2"):
            waiting.pods_ready(self.api, self.ns, selector, count=1, timeout=timeout)

    def frontend(self):
        pods = self.running_pods("app=frontend")
        assert len(pods) == 1, [p.metadata.name for p in pods]
        return pods[0].metadata.name

    def set_split(self, v1, v2):
        body = tutorial.traffic_split(v1, v2)
        group, version, plural = "split.smi-spec.io", "v1alpha3", "trafficsplits"
        try:
            current = self.custom.get_namespaced_custom_object(group, version, self.ns, plural, "backend-ts")
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            self.custom.replace_namespaced_custom_object(group, version, self.ns, plural, "backend-ts", body)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self.custom.create_namespaced_custom_object(group, version, self.ns, plural, body)
        return datetime.datetime.now(datetime.timezone.utc)

    def annotate(self, kind, name, key, value):
        patch = {"metadata": {"annotations": {key: value}}}
        if kind == "service":
            self.core.patch_namespaced_service(name, self.ns, patch)
        else:
            self.core.patch_namespaced_pod(name, self.ns, patch)

    def logs(self, since=None, previous=False):
        """``[(timestamp, text)]`` from ``kubectl logs --timestamps`` of the frontend container."""
        args = ["logs", "-n", self.ns, self.frontend(), "-c", "frontend", "--timestamps"]
        if since is not None:
            args.append("--since-time=%s" % since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        if previous:
            args.append("--previous")
        out = _kubectl(*args).stdout
        lines = []
        for line in out.splitlines():
            stamp, text = line.split(" ", 1) if " " in line else (line, "")
            lines.append((datetime.datetime.fromisoformat(stamp), text))  # Python 3.11 reads RFC 3339 nano
        return lines

    def wait_logs(self, timeout=60):
        """kwok serves logs once it has seen meshsim's Logs object (its informer lags a little)."""
        deadline = time.monotonic() + timeout
        while True:
            res = _kubectl("logs", "-n", self.ns, self.frontend(), "-c", "frontend", "--tail=1", check=False)
            if res.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError("kubectl logs never worked: %s" % res.stderr)
            time.sleep(0.5)

    def versions_after(self, start, want, timeout=120):
        """Versions of the frontend's responses logged after ``start``, once at least ``want`` exist."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [(t, x) for t, x in self.logs(since=start) if t >= start]
            versions = [m.group("version") for m in (VERSION.search(x) for _t, x in lines) if m]
            if len(versions) >= want or time.monotonic() > deadline:
                return versions, lines
            time.sleep(2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("KUBECONFIG is not set: run inside `tests/cluster/localcluster run -- ...`")
    lab_ = Lab("meshsim-e2e-" + uuid.uuid4().hex[:6], str(tmp_path_factory.mktemp("meshsim")))
    # The CRDs this module creates are deleted again: later suites share the cluster (molecule linkerd_smi must
    # start without Gateway API CRDs).
    created = [name for name, body in fixtures.cached_crds(tmp_path_factory.mktemp("crds")).items()
               if waiting.apply_crd(lab_.api, body)]
    lab_.deploy()
    lab_.wait_pods()
    started = subprocess.run([MESHSIM, "start", "--kubeconfig", os.environ["KUBECONFIG"], "--namespace", lab_.ns,
                              "--state-dir", lab_.state_dir, "--frontend-sleep-scale", SLEEP_SCALE,
                              "--max-runtime", "900"], capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        lab_.wait_logs()
        yield lab_
    finally:
        subprocess.run([MESHSIM, "stop", "--state-dir", lab_.state_dir], timeout=60, check=False)
        with open(os.path.join(lab_.state_dir, "meshsim.log"), encoding="utf-8") as fh:
            print("---- meshsim.log (tail) ----\n" + "".join(fh.readlines()[-40:]))
        lab_.core.delete_namespace(lab_.ns)
        for name in created:
            waiting.delete_crd(lab_.api, name)


def test_no_split_spreads_evenly_across_both_versions(lab):
    start = datetime.datetime.now(datetime.timezone.utc)
    versions, lines = lab.versions_after(start, 60)
    print("no split: %d responses, v2 share %.3f" % (len(versions), versions.count("2") / max(len(versions), 1)))
    assert len(versions) >= 60, lines[-5:]
    assert len(versions) == len(lines), [x for _t, x in lines if not VERSION.search(x)][:5]
    assert _within(versions.count("2"), len(versions), 0.5), versions


def test_split_90_10_shows_in_kubectl_logs(lab):
    applied = lab.set_split(90, 10)
    start = applied + datetime.timedelta(seconds=SETTLE)
    versions, lines = lab.versions_after(start, 200)
    share = versions.count("2") / len(versions)
    print("90/10: %d responses, v2 share %.3f, first %s last %s" % (len(versions), share, lines[0][0], lines[-1][0]))
    assert len(versions) >= 200
    assert _within(versions.count("2"), len(versions), 0.1), share
    assert not _within(versions.count("2"), len(versions), 0.5)


def test_envoy_carried_the_requests(lab):
    with open(os.path.join(lab.state_dir, "status.json"), encoding="utf-8") as fh:
        status = json.load(fh)
    assert status["envoy"]["alive"] and status["router"].startswith("http://127.0.0.1:")
    counted = {c["service"]: c["requests"] for c in status["counts"] if c.get("service")}
    print("envoy counters: %s; routes %s" % (counted, status["envoy"]["routes"]))
    assert counted.get("backend-v1", 0) > 0 and counted.get("backend-v2", 0) > 0, status["counts"]
    assert status["envoy"]["routes"]["service/backend-svc"] == "TrafficSplit/backend-ts"
    with open(os.path.join(status["envoy"]["run_dir"], "access.log"), encoding="utf-8") as fh:
        entries = [json.loads(line) for line in fh if line.strip()]
    assert any(e["route"] == "service/backend-svc" and e["cluster"] == "backend-v2" for e in entries)


def test_kubectl_exec_probe_goes_through_the_router(lab):
    script = "for i in $(seq 60); do curl -s http://backend-svc/; echo; done"
    out = _kubectl("exec", "-n", lab.ns, lab.frontend(), "-c", "frontend", "--", "sh", "-c", script).stdout
    versions = VERSION.findall(out)
    print("exec probe: %d responses, v2 %d" % (len(versions), versions.count("2")))
    assert len(versions) == 60, out[-300:]
    assert versions.count("1") > versions.count("2")  # 90/10 split in force


def test_misroute_switch_shows_as_wrong_ratio(lab):
    lab.annotate("service", "backend-svc", faults.MISROUTE, "uniform")
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=SETTLE)
    versions = lab.versions_after(start, 100)[0]
    lab.annotate("service", "backend-svc", faults.MISROUTE, "none")
    print("misroute under 90/10: %d responses, v2 share %.3f" % (len(versions), versions.count("2") / len(versions)))
    assert _within(versions.count("2"), len(versions), 0.5) and not _within(versions.count("2"), len(versions), 0.1)


def test_v2_http500_fault_shows_as_errors(lab):
    lab.annotate("service", "backend-v2", faults.FAULT, "http500")
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=SETTLE)
    lines = lab.versions_after(start, 150)[1]
    lab.annotate("service", "backend-v2", faults.FAULT, "none")
    errors = sum("500 Internal Server Error" in x for _t, x in lines)
    v2 = sum('"version":"2"' in x for _t, x in lines)
    print("v2 http500 under 90/10: %d lines, %d errors, %d v2 responses" % (len(lines), errors, v2))
    assert v2 == 0 and _within(errors, len(lines), 0.1), (errors, len(lines))


def test_frontend_restart_rotates_logs_like_the_kubelet(lab):
    before = lab.logs()
    name = lab.frontend()
    lab.annotate("pod", name, faults.RESTART, "1")

    def restarted():
        pod = lab.core.read_namespaced_pod(name, lab.ns)
        status = (pod.status.container_statuses or [None])[0]
        return status is not None and status.restart_count == 1 and status.ready and pod

    pod = waiting.wait_until("frontend restarted once and Ready", restarted, timeout=30)
    # the new instance's first line, so the rotated log is complete and the new one has begun
    waiting.wait_until("a line from the restarted frontend", lab.logs, timeout=30)
    previous = lab.logs(previous=True)
    current = lab.logs()
    status = pod.status.container_statuses[0]
    print("restart: pod status restartCount=%s containerID=%s ready=%s phase=%s"
          % (status.restart_count, status.container_id, status.ready, pod.status.phase))
    assert status.restart_count == 1 and status.last_state.terminated is not None
    assert pod.status.phase == "Running" and status.ready
    print("restart: %d lines before, %d previous, %d current" % (len(before), len(previous), len(current)))
    assert len(previous) >= len(before) > 0
    assert current and current[0][0] > previous[-1][0]


def test_0_100_no_v1_after_settle(lab):
    applied = lab.set_split(0, 100)
    versions = lab.versions_after(applied + datetime.timedelta(seconds=SETTLE), 100)[0]
    print("0/100: %d responses, v1 %d" % (len(versions), versions.count("1")))
    assert len(versions) >= 100 and versions.count("1") == 0, versions.count("1")
    lab.annotate("service", "backend-svc", faults.LEAK, "backend-v1=1")
    start = datetime.datetime.now(datetime.timezone.utc)
    versions = lab.versions_after(start, 60)[0]
    print("0/100 with leak backend-v1=1: %d responses, v1 %d" % (len(versions), versions.count("1")))
    assert versions.count("1") == 1


def test_rollout_replaces_the_backend_process(lab):
    old = [p.metadata.name for p in lab.running_pods("app=backend,version=2")]
    patch = {"spec": {"template": {"metadata": {"annotations": {"meshsim.test/rollout": "1"}}}}}
    lab.apps.patch_namespaced_deployment("backend-v2", lab.ns, patch)
    deadline = time.monotonic() + 90
    new = []
    while time.monotonic() < deadline:
        pods = lab.core.list_namespaced_pod(lab.ns, label_selector="app=backend,version=2").items
        new = [p.metadata.name for p in pods if p.metadata.name not in old and p.status.phase == "Running"]
        if new and len(pods) == 1:
            break
        time.sleep(1)
    assert len(new) == 1, "rollout did not finish: %s" % [p.metadata.name for p in pods]
    backends = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (new[0] not in backends or set(old) & set(backends)):
        time.sleep(1)
        with open(os.path.join(lab.state_dir, "status.json"), encoding="utf-8") as fh:
            backends = json.load(fh)["backends"]
    print("rollout: backend-v2 pod %s -> %s; meshsim backends %s" % (old, new, sorted(backends)))
    assert new[0] in backends and not set(old) & set(backends)
    script = "for i in $(seq 20); do curl -s http://backend-svc/; echo; done"
    out = _kubectl("exec", "-n", lab.ns, lab.frontend(), "-c", "frontend", "--", "sh", "-c", script).stdout
    assert VERSION.findall(out) == ["2"] * 20, out[-300:]


def test_http_route_is_accepted_and_followed(lab):
    lab.custom.delete_namespaced_custom_object("split.smi-spec.io", "v1alpha3", lab.ns, "trafficsplits", "backend-ts")
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "backend-route"},
             "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "backend-svc", "port": 80}],
                      "rules": [{"backendRefs": [{"name": "backend-v1", "port": 80, "weight": 100},
                                                 {"name": "backend-v2", "port": 80, "weight": 0}]}]}}
    lab.custom.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", lab.ns, "httproutes", route)
    applied = datetime.datetime.now(datetime.timezone.utc)
    deadline = time.monotonic() + 30
    conds = {}
    while time.monotonic() < deadline and conds.get("Accepted") != "True":
        obj = lab.custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", lab.ns, "httproutes",
                                                      "backend-route")
        parents = (obj.get("status") or {}).get("parents") or []
        conds = {c["type"]: c["status"] for p in parents for c in p.get("conditions") or []}
        time.sleep(0.5)
    assert conds == {"Accepted": "True", "ResolvedRefs": "True"}
    versions = lab.versions_after(applied + datetime.timedelta(seconds=SETTLE), 100)[0]
    print("HTTPRoute 100/0: %d responses, v2 %d" % (len(versions), versions.count("2")))
    assert len(versions) >= 100 and versions.count("2") == 0
