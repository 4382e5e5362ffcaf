"""Integration tests of the meshlab.canary modules against a real API server (tests/cluster/localcluster).

Each test runs ``ansible-playbook`` on a one-task playbook in ``playbooks/`` (options as extra vars, check and
diff mode from the command line) and checks the cluster with the kubernetes Python client. They run inside the
local cluster's network namespace, started by ``tests/cluster/suites.d/30-modules``; without ``KUBECONFIG`` they
are skipped (or fail, when ``MESHLAB_IT_REQUIRE_CLUSTER=1``, as the suite sets it).

Helpers here: the CRDs (from the chart cache, ``support.fixtures.cached_crds``), a namespace per test (deleted afterwards), Services, a snapshot of what a
namespace holds (to prove a rejected task changed nothing), ``run_play`` and a bounded HTTPRoute status writer
that stands in for a GAMMA mesh controller.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from support import fixtures, waiting

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "dataplane"))
from meshsim_lib import kube as meshsim_kube, routestatus  # noqa: E402  (the mesh stand-in's GAMMA status)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PLAYBOOKS = os.path.join(HERE, "playbooks")
INVENTORY = os.path.join(HERE, "inventory.yml")


CRDS = fixtures.cached_crds() if os.environ.get("KUBECONFIG") else {}
CRD_NAMES = {"smi": fixtures.TRAFFICSPLIT, "gateway": fixtures.HTTPROUTE}
SMI = ("split.smi-spec.io", "v1alpha3", "trafficsplits")
ROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")
PLAY_TIMEOUT = 180  # seconds, per ansible-playbook run

if not os.environ.get("KUBECONFIG"):
    if os.environ.get("MESHLAB_IT_REQUIRE_CLUSTER") == "1":
        raise RuntimeError("KUBECONFIG is not set: run through tests/cluster/run-all (suite 30-modules)")
    pytest.skip("no cluster: KUBECONFIG is not set (run RUN_ALL_SUITES=30-modules tests/cluster/run-all)",
                allow_module_level=True)


# ---- the API ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def api():
    return config.new_client_from_config(config_file=os.environ["KUBECONFIG"])


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def custom(api):
    return client.CustomObjectsApi(api)


def apply_crd(api, which):
    """Create or replace a fixture CRD and wait until it is Established and served."""
    waiting.apply_crd(api, CRDS[CRD_NAMES[which]])


def delete_crd(api, which):
    """Delete a fixture CRD and wait until it is gone (not only terminating) and discovery no longer serves it."""
    waiting.delete_crd(api, CRD_NAMES[which])


@pytest.fixture(scope="session")
def crds(api):
    """Both fixture CRDs applied (TrafficSplit v1alpha3 as NSM 2.0.0 serves it, HTTPRoute v1), and deleted again at
    the end of the session: later suites share the cluster (molecule linkerd_smi starts without Gateway API CRDs, so
    that the service_mesh role installs and removes them itself)."""
    for which in CRD_NAMES:
        apply_crd(api, which)
    yield
    for which in CRD_NAMES:
        delete_crd(api, which)


# ---- namespaces, Services, snapshots -------------------------------------------------------------

@pytest.fixture
def namespace(core, request):
    """A fresh namespace for one test, deleted afterwards."""
    short = request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")
    short = "".join(c for c in short if c.isalnum() or c == "-")[:40].strip("-")
    name = "it-{0}-{1}".format(short, uuid.uuid4().hex[:5])
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"meshlab-it": "1"})))
    waiting.namespace_ready(core.api_client, name)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


def create_services(core, namespace, names, port=80):
    for name in names:
        core.create_namespaced_service(namespace, client.V1Service(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1ServiceSpec(selector={"app": name}, ports=[client.V1ServicePort(port=port, name="http")]),
        ))


@pytest.fixture
def lab_services(core, namespace):
    """The tutorial's root and backend Services (port 80) in the test's namespace."""
    create_services(core, namespace, ["backend-svc", "backend-v1", "backend-v2"])
    return namespace


def snapshot(api, namespace):
    """{(kind, name): resourceVersion} of the Services, Pods, TrafficSplits and HTTPRoutes in ``namespace``."""
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    state = {}
    for svc in core.list_namespaced_service(namespace).items:
        state[("Service", svc.metadata.name)] = svc.metadata.resource_version
    for pod in core.list_namespaced_pod(namespace).items:
        state[("Pod", pod.metadata.name)] = pod.metadata.resource_version
    for group, version, plural in (SMI, ROUTE):
        if version not in waiting.served_versions(api, group, plural):
            state[(plural, "<not served>")] = None
            continue
        for obj in custom.list_namespaced_custom_object(group, version, namespace, plural)["items"]:
            state[(plural, obj["metadata"]["name"])] = obj["metadata"]["resourceVersion"]
    return state


def get_object(custom, gvp, namespace, name):
    group, version, plural = gvp
    try:
        return custom.get_namespaced_custom_object(group, version, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


# ---- ansible-playbook -------------------------------------------------------------------------

class Play(object):
    """One ansible-playbook run: rc, the module's result (from the ansible.posix.json callback), output."""

    def __init__(self, proc, duration):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.duration = duration
        try:
            self.report = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook did not print JSON (rc={0}):\n{1}\n{2}".format(
                self.rc, proc.stdout[-3000:], proc.stderr[-3000:]))
        tasks = [task for play in self.report.get("plays", []) for task in play.get("tasks", [])]
        assert len(tasks) == 1, "expected exactly one task result, got {0}: {1}".format(len(tasks), self.stdout)
        self.result = tasks[0]["hosts"]["localhost"]

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    @property
    def msg(self):
        return self.result.get("msg", "")

    def __repr__(self):
        shown = dict((k, v) for k, v in self.result.items() if k != "invocation")
        return "Play(rc={0}, {1:.1f} s, result={2})".format(self.rc, self.duration, json.dumps(shown, sort_keys=True))


def run_play(playbook, extra_vars, check=False, diff=False, env=None):
    """Run ``playbooks/<playbook>.yml`` (or ``<playbook>.yml`` when given as an absolute path) with ``extra_vars``
    (passed as a JSON file, so types survive)."""
    bindir = os.path.dirname(sys.executable)
    cmd = [os.path.join(bindir, "ansible-playbook"), "-i", INVENTORY, os.path.join(PLAYBOOKS, playbook + ".yml")]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    full_env = dict(os.environ)
    full_env.update(
        ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PATH=bindir + os.pathsep + full_env.get("PATH", ""),
    )
    full_env.update(env or {})
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="it-vars-", delete=False) as handle:
        json.dump(extra_vars, handle)
    try:
        start = time.monotonic()
        proc = subprocess.run(cmd + ["-e", "@" + handle.name], capture_output=True, text=True, env=full_env,
                              timeout=PLAY_TIMEOUT, cwd=REPO, check=False)  # rc is checked by each test
        return Play(proc, time.monotonic() - start)
    finally:
        os.unlink(handle.name)


@pytest.fixture
def play():
    return run_play


# ---- a stand-in for the mesh's GAMMA controller ---------------------------------------------------

class RouteStatusWriter(object):
    """Writes ``status.parents`` for Service-parented HTTPRoutes, as meshsim's controller does (the same
    ``meshsim_lib.routestatus`` and ``Kube.write_route_status``), without meshsim's data plane.

    A real mesh controller does this; the cluster has none. ``accept=False`` writes Accepted=False instead
    (a controller rejecting the route); ``stale=True`` accepts, but always at generation 1 (a controller that has
    not seen the latest change). Runs in a thread, polls every 0.2 s, stops with the block.
    """

    def __init__(self, namespace, accept=True, stale=False, max_seconds=300):
        self.kube = meshsim_kube.Kube(os.environ["KUBECONFIG"], namespace)
        self.options = {"reject": None if accept else "NotAllowedByListeners",
                        "observed_generation": 1 if stale else None}
        self.max_seconds = max_seconds
        self.stop = threading.Event()
        self.writes = 0
        self.errors = []
        self.thread = threading.Thread(target=self._loop, name="route-status-writer", daemon=True)

    def _loop(self):
        deadline = time.monotonic() + self.max_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                objs = self.kube.list_route_inputs()
                names = set(svc["metadata"]["name"] for svc in objs["services"])
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                for route in objs["routes"]:
                    parents = routestatus.desired_parents(route, names, now, **self.options)
                    if routestatus.needs_update(route, parents):
                        self.kube.write_route_status(route, parents)
                        self.writes += 1
            except ApiException as exc:
                if exc.status not in (404, 409):  # deleted meanwhile / changed meanwhile: next poll
                    self.errors.append(str(exc))
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "route status writer did not stop"


@pytest.fixture
def status_writer():
    """Factory: ``with status_writer(ns): ...`` runs the stand-in controller for the block."""
    def make(namespace, accept=True, stale=False):
        return RouteStatusWriter(namespace, accept=accept, stale=stale)
    return make


def closed_loopback_port():
    """A 127.0.0.1 TCP port that nothing listens on (bound, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
