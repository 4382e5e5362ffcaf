"""End-to-end fault scenarios of the canary role on real loopback traffic (issue 6).

The session fixture ``lab`` deploys the lab on the local cluster (``tests/cluster/``) in its own
namespace: meshsim (``tests/dataplane/``, the stand-in for the mesh data plane) and
``playbooks/site.yml --tags cluster,mesh,apps`` with the real NSM 2.0.0 chart from the shared cache. Each test then runs
``playbooks/site.yml --tags canary`` with ``ansible-playbook``, flips meshsim's fault annotations with
the kubernetes client (``Faults``), and checks the play's exit status, the report JSON and the
TrafficSplit read back from the API. Run inside the cluster's network namespace
(``tests/cluster/suites.d/60-canary-faults``); without ``KUBECONFIG`` the tests are skipped, or fail
when ``MESHLAB_E2E_REQUIRE_CLUSTER=1`` (the suite sets it).
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from support import waiting

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
if not os.environ.get("KUBECONFIG"):
    if os.environ.get("MESHLAB_E2E_REQUIRE_CLUSTER") == "1":
        raise RuntimeError("KUBECONFIG is not set: run through tests/cluster/run-all (suite 60-canary-faults)")
    pytest.skip("no cluster: KUBECONFIG is not set (RUN_ALL_SUITES=60-canary-faults tests/cluster/run-all)",
                allow_module_level=True)


LOCALCLUSTER_INVENTORY = os.path.join(REPO, "tests", "support", "localcluster-inventory.yml")


def _require_chart_cache():
    """Fail at collection, naming the places looked at, when the shared chart cache is missing (the play's
    lookup of the same script would only say that it failed)."""
    proc = subprocess.run([os.path.join(REPO, "tests", "fixtures", "chart-cache-dir")], capture_output=True,
                          text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip())


_require_chart_cache()
# Reports of this session are written to a fresh directory (concurrent runs on one machine never
# share one) and copied to KEPT_ARTIFACTS when the session ends.
ARTIFACTS = tempfile.mkdtemp(prefix="e2e-artifacts-")
KEPT_ARTIFACTS = os.path.join(REPO, "tests", "output", "artifacts", "e2e")
NAMESPACE = "canary-e2e"
SPLIT = ("split.smi-spec.io", "v1alpha3", "trafficsplits")
SPLIT_NAME = "backend-ts"
ROOT_SERVICE = "backend-svc"
PLAY_TIMEOUT = 420  # seconds, per ansible-playbook run
# Deploying and tearing down the lab installs/uninstalls the real NSM chart, whose own waits are bounded by
# the role (helm --wait service_mesh_helm_timeout 300 s, service_mesh_ready_timeout 120 s, apps_wait_timeout
# 120 s): the guard around the whole play must lie above their sum plus the play's own work.
LAB_PLAY_TIMEOUT = 300 + 120 + 120 + 420
FAULT_ANNOTATIONS = ("meshsim.test/misroute", "meshsim.test/route-weights", "meshsim.test/leak",
                     "meshsim.test/fault")


def base_vars():
    """Extra vars for site.yml against the local cluster: what molecule `default` uses too
    (tests/support/localcluster-inventory.yml, templated by Ansible), plus this suite's own."""
    with open(LOCALCLUSTER_INVENTORY) as handle:
        extra = dict(yaml.safe_load(handle)["all"]["vars"])
    extra.update({
        "localcluster_repo": REPO,
        # SPIRE's persistent storage off here (molecule default runs "on" with a prepared volume).
        "service_mesh_work_dir": os.path.join(ARTIFACTS, "work"),
        "service_mesh_mtls_persistent_storage": "off",
        "meshlab_namespace": NAMESPACE,
        "canary_presplit_check": False,
    })
    return extra


def canary_vars(report_dir, stages, **overrides):
    """Extra vars for ``site.yml --tags canary`` with these stages, reports in ``report_dir``.

    The role's tolerance 0.1 and beta 0.05, but alpha 0.001 instead of 0.01: a correct stage fails by
    chance at most once in 1000, so the suites' many measured correct stages are not flaky; Envoy serves
    a new split within 0.8 s of the API write (tests/dataplane/README.md), so a 3 s settle is ample."""
    extra = base_vars()
    extra.update({
        "canary_stages": stages,
        "canary_verify_ratio": True,
        "canary_ratio_source": "logs",
        "canary_ratio_alpha": 0.001,
        "canary_ratio_settle_seconds": 3,
        "canary_ratio_poll_interval": 1,
        "canary_ratio_timeout": 180,
        "canary_report_dir": report_dir,
    })
    extra.update(overrides)
    return extra


def ansible_env():
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".collections")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def run_playbook(playbook, extra, tags=None, timeout=PLAY_TIMEOUT, verbose=False):
    """Run ``ansible-playbook`` from the repository root; returns the CompletedProcess (never raises on rc)."""
    fd, varfile = tempfile.mkstemp(prefix="e2e-vars-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(extra, handle)
    cmd = [shutil.which("ansible-playbook") or "ansible-playbook", os.path.join(REPO, "playbooks", playbook),
           "-e", "@" + varfile]
    if tags:
        cmd += ["--tags", tags]
    if verbose:
        cmd.append("-v")  # prints every task's result, e.g. traffic_ratio's boundary
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
    finally:
        os.unlink(varfile)
    return proc


RATIO_MODULES = ("AnsiballZ_traffic_ratio", "AnsiballZ_traffic_ratio_info")


def ratio_module_running():
    """Whether a traffic_ratio module process runs in this process's network namespace (each
    tests/cluster/run-all has its own, so a concurrent run on the same machine never matches)."""
    own = os.readlink("/proc/self/ns/net")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/{0}/cmdline".format(pid), "rb") as handle:
                cmdline = handle.read().decode("utf-8", "replace")
            if any(name + ".py" in cmdline for name in RATIO_MODULES) and os.readlink(
                    "/proc/{0}/ns/net".format(pid)) == own:
                return True
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
    return False


# ---- the API ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def api():
    return config.new_client_from_config(config_file=os.environ["KUBECONFIG"])


class Lab(object):
    """The deployed lab: API handles, fault switches and the canary runner."""

    def __init__(self, api, meshsim_dir):
        self.api = api
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.meshsim_dir = meshsim_dir

    # -- state --------------------------------------------------------------------------------
    def split_weights(self):
        """The TrafficSplit's weights as read back from the API ({} when there is none)."""
        try:
            obj = self.custom.get_namespaced_custom_object(SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2], SPLIT_NAME)
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise
        return dict((b["service"], b["weight"]) for b in obj["spec"]["backends"])

    def delete_split(self):
        try:
            self.custom.delete_namespaced_custom_object(SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2], SPLIT_NAME)
        except ApiException as exc:
            if exc.status != 404:
                raise
        waiting.wait_until("TrafficSplit deleted", lambda: self.split_weights() == {})

    def frontend_pods(self):
        pods = self.core.list_namespaced_pod(NAMESPACE, label_selector="app=frontend").items
        return [p for p in pods if p.metadata.deletion_timestamp is None]

    # -- fault switches -------------------------------------------------------------------------
    def annotate_service(self, name, annotations):
        self.core.patch_namespaced_service(name, NAMESPACE, {"metadata": {"annotations": annotations}})

    def annotate_pod(self, name, annotations):
        self.core.patch_namespaced_pod(name, NAMESPACE, {"metadata": {"annotations": annotations}})

    def clear_faults(self):
        cleared = dict((key, None) for key in FAULT_ANNOTATIONS)
        for svc in (ROOT_SERVICE, "backend-v1", "backend-v2"):
            self.annotate_service(svc, cleared)

    def when_split(self, weights, action, delay=0.0, timeout=PLAY_TIMEOUT, measuring=False):
        """In the background: once the API shows ``weights``, wait ``delay`` s and run ``action``.

        With ``measuring=True`` the delay counts from the moment the ratio module is running (its
        process exists in this network namespace), not from the split write: under load Ansible can
        spend tens of seconds between the two, and a fault fired before the module took its boundary
        would fall outside the measured window.

        Returns a handle with ``.join()`` (re-raises nothing; ``.fired`` tells whether it ran)."""
        handle = _Trigger()

        def body():
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not handle.stop.is_set():
                if self.split_weights() == weights and (not measuring or ratio_module_running()):
                    handle.seen_at = time.time()
                    if handle.stop.wait(delay):
                        return
                    action()
                    handle.fired_at = time.time()
                    return
                time.sleep(0.1)

        handle.thread = threading.Thread(target=body, name="when_split", daemon=True)
        handle.thread.start()
        return handle

    # -- the canary -----------------------------------------------------------------------------
    def frontend_logs(self):
        """{pod: (previous log path, current log path)} of the frontend containers meshsim runs."""
        with open(os.path.join(self.meshsim_dir, "status.json")) as handle:
            status = json.load(handle)
        return dict((pod, (c["frontend"]["previous_log"], c["frontend"]["log"]))
                    for pod, c in status["frontends"].items())

    def run_canary(self, name, stages, source="logs", verbose=False, **overrides):
        """``site.yml --tags canary`` with these stages; returns (proc, report dict or None)."""
        report_dir = os.path.join(ARTIFACTS, name)
        if os.path.isdir(report_dir):
            shutil.rmtree(report_dir)
        extra = canary_vars(report_dir, stages, canary_ratio_source=source, **overrides)
        start = time.monotonic()
        proc = run_playbook("site.yml", extra, tags="canary", verbose=verbose)
        elapsed = time.monotonic() - start
        # A play that fails before the role writes its report has made no directory: keep its log all the same.
        os.makedirs(report_dir, exist_ok=True)
        with open(os.path.join(report_dir, "play.log"), "w") as handle:
            handle.write(proc.stdout)
        path = os.path.join(report_dir, "canary-report.json")
        report = None
        if os.path.exists(path):
            with open(path) as handle:
                report = json.load(handle)
            # every report comes with its HTML page (tests/browser renders the kept ones)
            assert os.path.exists(os.path.join(report_dir, "canary-report.html")), name + ": no canary-report.html"
        print("\n[e2e] {0}: rc={1} in {2:.1f} s, outcome={3}".format(
            name, proc.returncode, elapsed, report and report.get("outcome")))
        for stage in (report or {}).get("stages", []):
            print("[e2e]   stage {0} {1}: {2}, {3} samples, counts {4}, {5} s (measure {6} s): {7}".format(
                stage["number"], stage["label"], stage["decision"], stage["samples"], stage["counts"],
                stage["duration"], stage["measure_duration"], stage["reason"]))
        return proc, report


class _Trigger(object):
    def __init__(self):
        self.stop = threading.Event()
        self.thread = None
        self.seen_at = None
        self.fired_at = None

    def join(self):
        self.stop.set()
        self.thread.join(10)


@pytest.fixture(scope="session")
def lab(api, request):
    """Deploy the lab once: meshsim, the real mesh chart (its CRDs too) and the apps in NAMESPACE; tear down after."""
    meshsim_dir = tempfile.mkdtemp(prefix="e2e-meshsim-")
    meshsim = os.path.join(REPO, "tests", "dataplane", "meshsim")
    # meshsim stops itself after --max-runtime s (a bound for a forgotten data plane, not a test timeout):
    # the session runs 13 scenarios, on a busy machine well over half an hour
    subprocess.run([meshsim, "start", "--kubeconfig", os.environ["KUBECONFIG"], "--namespace", NAMESPACE,
                    "--state-dir", meshsim_dir, "--max-runtime", "5400"], check=True, timeout=60)
    try:
        proc = run_playbook("site.yml", base_vars(), tags="cluster,mesh,apps", timeout=LAB_PLAY_TIMEOUT)
        assert proc.returncode == 0, "deploying the lab failed:\n" + proc.stdout[-6000:]
        the_lab = Lab(api, meshsim_dir)
        waiting.pods_ready(api, NAMESPACE, "app=frontend", timeout=60)
        yield the_lab
    finally:
        teardown = run_playbook("teardown.yml", base_vars(), timeout=LAB_PLAY_TIMEOUT)
        subprocess.run([meshsim, "stop", "--state-dir", meshsim_dir], timeout=60, check=False)
        if request.session.testsfailed:
            print("\n[e2e] tests failed: meshsim state and logs kept in " + meshsim_dir)
        else:
            shutil.rmtree(meshsim_dir, ignore_errors=True)
        if teardown.returncode != 0:
            print("teardown failed:\n" + teardown.stdout[-4000:])


@pytest.fixture(scope="session", autouse=True)
def keep_artifacts():
    """At the end of the session, replace tests/output/artifacts/e2e/ with this session's reports."""
    yield
    if os.path.isdir(KEPT_ARTIFACTS):
        shutil.rmtree(KEPT_ARTIFACTS)
    shutil.copytree(ARTIFACTS, KEPT_ARTIFACTS)
    shutil.rmtree(ARTIFACTS)
    print("\n[e2e] reports and play output kept in " + KEPT_ARTIFACTS)


@pytest.fixture
def clean(lab):
    """Every test starts without faults and without a split, and leaves no fault switched on."""
    lab.clear_faults()
    lab.delete_split()
    yield lab
    lab.clear_faults()
