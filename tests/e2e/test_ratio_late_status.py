"""traffic_ratio through restarts whose pod status is published late (issue 18), on the local cluster.

A real kubelet records a restart in the pod status (new ``containerID``, ``restartCount``) later than the new
container starts logging. meshsim reproduces that with ``meshsim.test/restart-status-delay``. The client here is a
pod whose own shell loop writes numbered v2 lines (about 50/s) and, when the test drops a ``leak`` file into its
work dir, one v1 line and exits: meshsim restarts it, so that v1 line is the last line of the old instance. Each
test runs ``meshlab.canary.traffic_ratio`` with ``ansible-playbook`` (tests/integration/playbooks/traffic_ratio.yml)
at 0/100 while the container restarts twice (once by annotation, once after the leak), and checks against the CRI
log files meshsim wrote: the module fails the stage on the leaked line (exact zero), and its counts are exactly the
lines of both old instances after its boundary, up to the leak.
"""

import calendar
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from conftest import REPO
from support.waiting import wait_until

MESHSIM = os.path.join(REPO, "tests", "dataplane", "meshsim")
PLAYBOOK = os.path.join(REPO, "tests", "integration", "playbooks", "traffic_ratio.yml")
INVENTORY = os.path.join(REPO, "tests", "integration", "inventory.yml")
RESTART = "meshsim.test/restart"
STATUS_DELAY = "meshsim.test/restart-status-delay"
# Silent until a file named "go" exists in the work dir (so every line it writes is inside the measurement: the
# module never reads lines from before its start + settle, to within a second), then v2 lines with a counter; with
# a file named "leak": one v1 line, then exit (meshsim restarts it).
WRITER = ('while [ ! -e go ]; do sleep 0.05; done; i=0; while :; do i=$((i+1)); if [ -e leak ]; then rm -f leak; echo "{\\"version\\":\\"1\\",\\"i\\":$i}"; '
          'exit 3; fi; echo "{\\"version\\":\\"2\\",\\"i\\":$i}"; sleep 0.02; done')
SETTLE = 2
POLL = 1
VERSION = re.compile(r'"version"\s*:\s*"(?P<version>[^"]+)"')


def parse_ts(text):
    """RFC 3339 with up to nanoseconds -> integer ns since the epoch."""
    main, _dot, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) * 10 ** 9 + int((frac + "0" * 9)[:9])


@pytest.fixture(scope="module")
def sim():
    """A fresh namespace served by its own meshsim; deleted afterwards."""
    api = config.new_client_from_config(config_file=os.environ["KUBECONFIG"])
    core = client.CoreV1Api(api)
    namespace = "ratio-late-" + uuid.uuid4().hex[:6]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    wait_until("default ServiceAccount in " + namespace, lambda: any(
        sa.metadata.name == "default" for sa in core.list_namespaced_service_account(namespace).items), timeout=60)
    state_dir = tempfile.mkdtemp(prefix="e2e-late-status-")
    subprocess.run([MESHSIM, "start", "--kubeconfig", os.environ["KUBECONFIG"], "--namespace", namespace,
                    "--state-dir", state_dir, "--max-runtime", "900"], check=True, timeout=60)
    try:
        yield core, namespace, state_dir
    finally:
        subprocess.run([MESHSIM, "stop", "--state-dir", state_dir], timeout=60, check=False)
        core.delete_namespace(namespace)
        print("\n[late-status] meshsim state kept in " + state_dir)


def meshsim_status(state_dir):
    with open(os.path.join(state_dir, "status.json")) as handle:
        return json.load(handle)


def cri_lines(path):
    """[(timestamp ns, text)] of a CRI log file."""
    out = []
    with open(path) as handle:
        for line in handle:
            stamp, _stream, _tag, text = (line.rstrip("\n").split(" ", 3) + ["", "", ""])[:4]
            out.append((parse_ts(stamp), text))
    return out


def restart_count(core, namespace, name):
    statuses = core.read_namespaced_pod(name, namespace).status.container_statuses or []
    return sum(s.restart_count or 0 for s in statuses)


def run_module(extra, result):
    """ansible-playbook with the one-task traffic_ratio playbook; the task result goes into ``result``."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="late-vars-", delete=False) as handle:
        json.dump(extra, handle)
    try:
        proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", INVENTORY, PLAYBOOK,
                               "-e", "@" + handle.name], capture_output=True, text=True, env=env, cwd=REPO,
                              timeout=300, check=False)
    finally:
        os.unlink(handle.name)
    result["rc"] = proc.returncode
    try:
        report = json.loads(proc.stdout)
        result["task"] = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        result["task"] = {"stdout": proc.stdout[-3000:], "stderr": proc.stderr[-3000:]}


def wait_rotated(previous_path, before_inode, timeout=30):
    """Poll until meshsim rotated the log (a new inode at the previous-log path); return the time seen."""
    def rotated():
        try:
            return os.stat(previous_path).st_ino != before_inode
        except FileNotFoundError:
            return False
    wait_until("the log rotation of " + previous_path, rotated, timeout=timeout, interval=0.01)
    return time.monotonic()


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.5])
def test_late_status_restart_counts_exactly_and_catches_the_leak(sim, delay):
    core, namespace, state_dir = sim
    name = "writer-" + str(delay).replace(".", "-")
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "frontend", "writer": name},
                                     annotations={STATUS_DELAY: str(delay)}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="frontend", image="writer:stand-in",
                                                             command=["sh", "-c", WRITER])],
                              automount_service_account_token=False)))
    try:
        wait_until("meshsim runs " + name, lambda: name in meshsim_status(state_dir)["frontends"], timeout=60)
        paths = meshsim_status(state_dir)["frontends"][name]["frontend"]
        current, previous = paths["log"], paths["previous_log"]
        work_dir = os.path.dirname(current)

        def served():  # kwok serves the log (still empty) once it has seen meshsim's Logs object
            try:
                core.read_namespaced_pod_log(name, namespace, container="frontend", tail_lines=1)
                return True
            except ApiException:
                return False
        wait_until("kwok serves the log of " + name, served, timeout=60)

        result = {}
        extra = {"it_namespace": namespace, "it_selector": "writer=" + name, "it_expected": {"1": 0, "2": 100},
                 "it_settle_seconds": SETTLE, "it_poll_interval": POLL, "it_timeout": 90,
                 "it_min_samples": 100000, "it_max_samples": 100000}
        # Nothing reads the previous log before the module: its first read (the tail at the start, which sets the
        # boundary) moves the file's access time (relatime: the file was never read since it was written).
        accessed = os.stat(previous).st_atime_ns
        runner = threading.Thread(target=run_module, args=(extra, result), daemon=True)
        runner.start()
        wait_until("traffic_ratio's first read", lambda: os.stat(previous).st_atime_ns != accessed, timeout=120,
                   interval=0.05)
        started = time.monotonic()
        # the writer starts after the settle window and the first poll; restart 1 comes a few polls later
        wait_until("the settle window to pass", lambda: time.monotonic() - started > SETTLE + 2 * POLL, timeout=30)
        with open(os.path.join(work_dir, "go"), "w"):
            pass
        wait_until("the first instance to log", lambda: len(cri_lines(current)) > 150, timeout=30)
        inode = os.stat(previous).st_ino
        core.patch_namespaced_pod(name, namespace, {"metadata": {"annotations": {RESTART: "one"}}})
        rotated_at = wait_rotated(previous, inode)
        wait_until("restart 1 in the pod status", lambda: restart_count(core, namespace, name) == 1, timeout=30,
                   interval=0.02)
        lag = time.monotonic() - rotated_at
        first = cri_lines(previous)  # the first instance, complete
        # the second instance logs for a while, read by the module under the published status
        wait_until("the second instance to log", lambda: len(cri_lines(current)) > 150, timeout=30)
        # the leak right after one of the module's reads (kwok reading the growing log moves its access time), so
        # that the rotation comes before the next read: the v1 line is in the old instance's unread tail
        inode = os.stat(previous).st_ino
        read_at = os.stat(current).st_atime_ns
        wait_until("a read of the second instance", lambda: os.stat(current).st_atime_ns != read_at, timeout=30,
                   interval=0.005)
        with open(os.path.join(work_dir, "leak"), "w"):
            pass
        wait_rotated(previous, inode)
        runner.join(200)
        assert not runner.is_alive(), "traffic_ratio did not finish"
        second = cri_lines(previous)
        task = result["task"]
        print("\n[late-status] delay {0}: status {1:.2f} s after the rotation; rc {2}: {3}".format(
            delay, lag, result["rc"], json.dumps(dict((k, v) for k, v in task.items() if k != "invocation"))))

        assert lag >= delay - 0.05, "meshsim published the restart before its delay"
        assert result["rc"] != 0 and task.get("method") == "exact-zero", task
        leak_ts, leak_text = second[-1]
        assert VERSION.search(leak_text).group("version") == "1", second[-3:]  # the old instance's last line
        boundary = parse_ts(task["boundary"])
        assert boundary == first[0][0] - 1, "the boundary is not just before the writer's first line"
        counted = [text for ts, text in first + second if ts <= leak_ts]
        versions = [VERSION.search(text).group("version") for text in counted]
        assert task["counts"] == {"1": 1, "2": versions.count("2")}, (task["counts"], len(versions))
        assert task["errors"] == 0 and task["samples"] == len(versions)
        wait_until("restart 2 in the pod status", lambda: restart_count(core, namespace, name) == 2, timeout=30)
    finally:
        core.delete_namespaced_pod(name, namespace)
