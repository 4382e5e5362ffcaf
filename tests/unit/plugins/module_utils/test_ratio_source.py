import os
import json
import random
import subprocess

import pytest

from fake_cluster import FakeClock, FakeLogCluster, LogPod
from module_args import ratio_params

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._samples import NS, parse_timestamp
from ansible_collections.meshlab.canary.plugins.module_utils._ratio_source import (
    measure_ratio,
    merge_instances,
    probe_script,
)

LINE = '{{"name":"backend","version":"{0}"}} '


def params(**over):
    base = dict(expected={"1": 90, "2": 10})
    base.update(over)
    return ratio_params(**base)


def steady(period, chooser, start_t):
    """Generator: every pod logs one line per ``period`` seconds from ``start_t`` on (controller time)."""
    def generate(cluster, from_t, to_t):
        for pod in cluster.pods.values():
            if not pod.running:
                continue
            first = getattr(pod, "next_t", start_t)
            t = max(first, start_t)
            while t <= to_t:
                pod.log(cluster.clock.node_ns(t), chooser(pod, t))
                t += period
            pod.next_t = t
    return generate


def history(pod, clock, text, seconds=30):
    """Lines logged before the module starts; they must never count."""
    for i in range(seconds):
        pod.log(clock.node_ns(clock.t - seconds + i), text)


def run(cluster, clock, p, rounds=None):
    """The measurement as the action plugin drives it: rounds of progress_interval, each resumed from the state
    of the one before, until it finishes; ``rounds`` (a list) collects each round's progress."""
    p = dict(p)
    while True:
        result = measure_ratio(cluster, p, clock=clock.monotonic, sleep=clock.sleep, wall_ns=clock.node_ns,
                               wall=lambda: clock.t)
        if result["finished"]:
            return result
        assert set(result) == {"finished", "state", "progress"}, result
        if rounds is not None:
            rounds.append(result["progress"])
        p["resume"] = json.loads(json.dumps(result["state"]))  # what crosses the module boundary is JSON


def test_two_pods_correct_split_passes_and_ignores_old_and_settling_lines():
    clock = FakeClock()
    pods = [LogPod("frontend-a"), LogPod("frontend-b")]
    for pod in pods:
        history(pod, clock, LINE.format("3"))  # an unknown version: counted, it would fail the stage
    rnd = random.Random(1)
    start = clock.t

    def chooser(pod, t):
        # the newest line at start is at start - 1 s, so the boundary is start + 9 s: wrong traffic while
        # settling must not count
        if t <= start + 8.97:
            return LINE.format("3")
        return LINE.format("2" if rnd.random() < 0.1 else "1")
    cluster = FakeLogCluster(clock, pods, steady(0.05, chooser, start + 0.01))
    result = run(cluster, clock, params())
    assert result["decision"] == "pass", result["reason"]
    assert result["method"] == "sprt"
    assert result["pods"] == ["frontend-a", "frontend-b"]
    assert set(result["counts"]) == {"1", "2"}
    assert result["samples"] == result["counts"]["1"] + result["counts"]["2"] >= 100
    assert result["reason"].startswith("sequential test accepted the split 90/10 within 0.05 after")
    assert "from 2 pods" in result["reason"]
    # the boundary is the newest line at start (node clock) plus the settle window
    assert result["boundary"].endswith("Z")
    # every pod was read at start (tail) and then repeatedly, never from the beginning of time
    tails = [r for r in cluster.reads if r[3] == 1]
    assert sorted((r[0], r[2]) for r in tails) == [
        ("frontend-a", False), ("frontend-a", True), ("frontend-b", False), ("frontend-b", True)]
    assert all(r[1] is not None and r[1] <= 600 + 5 for r in cluster.reads if r[3] is None)


def ground_truth(cluster, boundary_ns, until_ns):
    counts = {}
    for pod in cluster.pods.values():
        for instance in pod.instances:
            for ts, text in instance:
                if boundary_ns < ts <= until_ns:
                    counts[text] = counts.get(text, 0) + 1
    return counts


@pytest.mark.parametrize("cri", [False, True])
def test_every_line_counted_once_with_restart_and_new_pod(cri):
    clock = FakeClock()
    a, b = LogPod("frontend-a"), LogPod("frontend-b")
    for pod in (a, b):
        history(pod, clock, LINE.format("1"))
    start = clock.t
    events = {"restarted": False, "added": False}

    def chooser(pod, t):
        return LINE.format("1" if int(t * 10) % 2 else "2")

    gen = steady(0.1, chooser, start + 0.01)

    def generate(cluster, from_t, to_t):
        # pod a restarts at +12.5 s (its last lines before the restart are only in the previous log);
        # pod c appears at +15 s
        if not events["restarted"] and to_t >= start + 12.5:
            gen(cluster, from_t, start + 12.5)
            a.restart()
            events["restarted"] = True
            from_t = start + 12.5
        if not events["added"] and to_t >= start + 15:
            c = LogPod("frontend-c")
            c.next_t = start + 15
            cluster.pods["frontend-c"] = c
            events["added"] = True
        gen(cluster, from_t, to_t)

    cluster = FakeLogCluster(clock, [a, b], generate, cri=cri)
    # polls at +0, +3, +6, ...: the restart at +12.5 falls between two polls
    p = params(expected={"1": 50, "2": 50}, min_samples=100000, max_samples=100000, timeout=31, poll_interval=3,
               settle_seconds=2)
    result = run(cluster, clock, p)
    assert result["method"] == "too-few-samples" and result["decision"] == "fail"
    # the newest line at start is at start - 1 s, so the boundary is start + 1 s; but lines before module
    # start + settle (start + 2 s) never count either, and polls fall on whole seconds after the start
    truth = ground_truth(cluster, clock.node_ns(start + 2) - 1, clock.node_ns())
    assert result["counts"] == {"1": truth[LINE.format("1")], "2": truth[LINE.format("2")]}
    assert result["pods"] == ["frontend-a", "frontend-b", "frontend-c"]
    assert any(read[2] for read in cluster.reads)
    assert result["reason"].startswith("collected {0} of at least 100000 samples in 31 s from 3 pods".format(
        result["samples"]))


def test_errors_and_blank_lines():
    clock = FakeClock()
    pod = LogPod("frontend-a")
    start = clock.t
    seq = {"i": 0}

    def chooser(pod, t):
        seq["i"] += 1
        if seq["i"] % 3 == 0:
            return " "                 # the tutorial's separator: skipped
        if seq["i"] % 10 == 1:
            return "<html>503</html>"  # an error line
        return LINE.format("2")
    cluster = FakeLogCluster(clock, [pod], steady(0.1, chooser, start + 0.01))
    result = run(cluster, clock, params(expected={"1": 0, "2": 100}, settle_seconds=0, max_error_rate=0.5))
    assert result["decision"] == "pass" and result["method"] == "exact-zero"
    assert result["errors"] > 0 and result["error_examples"][0] == "<html>503</html>"
    assert 0 < result["error_rate"] < 0.5
    strict = FakeLogCluster(FakeClock(), [LogPod("frontend-a")], None)
    strict.clock = clock2 = FakeClock()
    seq["i"] = 0
    strict.generator = steady(0.1, chooser, clock2.t + 0.01)
    result = run(strict, clock2, params(expected={"1": 0, "2": 100}, settle_seconds=0, max_error_rate=0.05))
    assert result["decision"] == "fail" and result["method"] == "error-rate"


def test_zero_weight_version_seen_after_settle_fails():
    clock = FakeClock()
    start = clock.t

    def chooser(pod, t):
        return LINE.format("1" if abs(t - (start + 20)) < 0.05 else "2")
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")], steady(0.1, chooser, start + 0.01))
    result = run(cluster, clock, params(expected={"1": 0, "2": 100}, min_samples=1000, max_samples=1000))
    assert result["decision"] == "fail" and result["method"] == "exact-zero"
    assert result["counts"]["1"] == 1
    assert result["reason"].startswith("version 1 has weight 0 but got 1 of")


def test_quiet_pods_before_the_start_do_not_shorten_the_settle_window():
    clock = FakeClock()
    pod = LogPod("frontend-a")
    pod.log(clock.node_ns(clock.t - 300), LINE.format("2"))  # the newest line is five minutes old
    start = clock.t

    def chooser(pod, t):
        return LINE.format("1" if t < start + 9.5 else "2")  # old weights until shortly before the settle ends
    cluster = FakeLogCluster(clock, [pod], steady(0.1, chooser, start + 0.05))
    result = run(cluster, clock, params(expected={"1": 0, "2": 100}, settle_seconds=10))
    assert result["decision"] == "pass", result["reason"]
    assert result["counts"]["1"] == 0
    assert all(read[1] is None or read[1] <= 600 for read in cluster.reads)


def test_no_logs_at_start_counts_from_start_plus_settle():
    clock = FakeClock()
    start = clock.t

    def chooser(pod, t):
        return LINE.format("3" if t < start + 5 else "2")  # the pod starts logging at +2 s, settle ends at +5 s
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")], steady(0.1, chooser, start + 2))
    result = run(cluster, clock, params(expected={"1": 0, "2": 100}, settle_seconds=5))
    assert result["decision"] == "pass", result["reason"]
    # exactly the 178 lines the error-rate test needs without an error (test_verdict), none of the settling ones
    assert result["counts"] == {"1": 0, "2": 178}


def test_selector_without_pods_and_unknown_container():
    clock = FakeClock()
    with pytest.raises(CanaryError) as err:
        run(FakeLogCluster(clock, []), clock, params())
    assert "selector 'app=frontend' matches no pods in namespace default" in str(err.value)
    assert err.value.fields["decision"] == "fail" and err.value.fields["samples"] == 0
    with pytest.raises(CanaryError) as err:
        run(FakeLogCluster(clock, [LogPod("frontend-a")]), clock, params(container="web"))
    assert "container 'web' is not in the pods matching 'app=frontend' in namespace default; their containers " \
           "are: frontend, nginx-mesh-sidecar" in str(err.value)


@pytest.mark.parametrize("over, fragment", [
    (dict(pattern=r'"version":"(\d+)"'), "has no named group 'version'"),
    (dict(expected={"1": 0, "2": 0}), "all zero"),
    (dict(expected={"1": -1, "2": 10}), "must be >= 0"),
    (dict(timeout=0), "timeout must be a whole number >= 1"),
    (dict(poll_interval=0), "poll_interval must be"),
    (dict(progress_interval=-1), "progress_interval must be a whole number >= 0"),
    (dict(selector=""), "selector must be a label selector"),
    (dict(source="probe", url="backend-svc"), "url must be an http:// or https:// URL"),
    (dict(source="probe", probe_requests=0), "probe_requests must be a whole number 1-100000"),
])
def test_bad_input_before_any_call(over, fragment):
    clock = FakeClock()
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")])
    with pytest.raises(CanaryError) as err:
        run(cluster, clock, params(**over))
    assert fragment in str(err.value)
    assert cluster.reads == [] and cluster.execs == []


# ---- probe ------------------------------------------------------------------------

def test_probe_script_quotes_and_loops():
    script = probe_script("http://backend-svc/a'b", 7, 3)
    assert "while [ \"$i\" -lt 7 ]" in script
    assert "curl -s --max-time 3 'http://backend-svc/a'\"'\"'b'" in script
    assert "exit 127" in script


FAKE_CURL = """#!/bin/sh
# stand-in for curl: no network; answers by a counter file, fails every third call
n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$COUNTER"
case "$*" in *"--max-time 3 http://backend-svc/a'b"*) ;; *) echo "unexpected args: $*"; exit 2;; esac
if [ $((n % 3)) -eq 0 ]; then exit 7; fi
printf '{"name":"backend",\n"version":"%s"}' $((n % 2 + 1))
"""


@pytest.mark.skipif(not os.path.exists("/bin/sh"), reason="needs a POSIX shell")
def test_probe_script_runs_in_a_real_shell(tmp_path):
    curl = tmp_path / "curl"
    curl.write_text(FAKE_CURL)
    curl.chmod(0o755)
    env = dict(os.environ, PATH="{0}:/usr/bin:/bin".format(tmp_path), COUNTER=str(tmp_path / "n"))
    out = subprocess.run(["/bin/sh", "-c", probe_script("http://backend-svc/a'b", 6, 3)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    lines = out.stdout.decode().splitlines()
    assert lines == ['{"name":"backend","version":"2"}', '{"name":"backend","version":"1"}', "curl exit 7",
                     '{"name":"backend","version":"1"}', '{"name":"backend","version":"2"}', "curl exit 7"]


def test_probe_script_without_curl_exits_127(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    out = subprocess.run(["/bin/sh", "-c", probe_script("http://x/", 2, 1)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=30, check=False)
    assert out.returncode == 127 and b"curl not found" in out.stderr


def test_probe_round_robin_passes():
    clock = FakeClock()
    rnd = random.Random(3)

    def handler(cluster, name, container, script, timeout):
        clock.t += 2
        lines = [LINE.format("2" if rnd.random() < 0.2 else "1").strip() for _i in range(100)]
        return "\n".join(lines) + "\n", "", 0
    cluster = FakeLogCluster(clock, [LogPod("frontend-b"), LogPod("frontend-a")])
    cluster.exec_handler = handler
    result = run(cluster, clock, params(source="probe", expected={"1": 80, "2": 20}, settle_seconds=3))
    assert result["decision"] == "pass", result["reason"]
    assert clock.sleeps[0] == 3  # settle first
    names = [e[0] for e in cluster.execs]
    assert names[:2] == ["frontend-a", "frontend-b"] and len(names) >= 5
    assert result["pods"] == ["frontend-a", "frontend-b"]
    assert all(e[1] == "frontend" and "curl -s" in e[2] for e in cluster.execs)


def test_probe_exit_code_is_checked():
    clock = FakeClock()
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")])
    cluster.exec_handler = lambda *a: ("", "curl not found in the container\n", 127)
    with pytest.raises(CanaryError) as err:
        run(cluster, clock, params(source="probe"))
    assert str(err.value) == ("the probe in pod frontend-a (container frontend) exited with code 127: "
                              "curl not found in the container")
    assert err.value.fields["method"] == "error"


def test_probe_cut_by_timeout_keeps_partial_output():
    clock = FakeClock()
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")])

    def handler(cluster, name, container, script, timeout):
        clock.t += timeout
        return "\n".join([LINE.format("2")] * 40), "", None
    cluster.exec_handler = handler
    result = run(cluster, clock, params(source="probe", expected={"1": 0, "2": 100}, timeout=60))
    assert result["samples"] == 40
    assert result["decision"] == "fail" and result["method"] == "too-few-samples"
    assert result["reason"] == "collected 40 of at least 100 samples in 60 s from 1 pod"


def test_probe_waits_for_a_running_pod():
    clock = FakeClock()
    pod = LogPod("frontend-a")
    pod.running = False
    cluster = FakeLogCluster(clock, [pod])
    cluster.exec_handler = lambda *a: pytest.fail("exec into a pod that is not running")
    result = run(cluster, clock, params(source="probe", timeout=30))
    assert result["method"] == "too-few-samples" and result["samples"] == 0
    assert cluster.execs == []


# ---- restarts whose pod status is published late (the kubelet does not update it with the log rotation) ----

def restarting(start, restart_at, status_lag, leak=False, period=0.1):
    """Generator: one line per ``period`` s of v2; the container restarts at ``restart_at`` (the new instance logs
    at once) and the pod status shows it only ``status_lag`` s later. With ``leak`` the old instance's last line
    is a v1 response."""
    state = {"restarted": False, "published": False}

    def generate(cluster, from_t, to_t):
        for pod in cluster.pods.values():
            t = getattr(pod, "next_t", start + 0.01)
            while t <= to_t:
                if not state["restarted"] and t >= restart_at:
                    if leak:
                        pod.log(cluster.clock.node_ns(restart_at - 0.001), LINE.format("1"))
                    pod.status_restarts = len(pod.instances) - 1
                    pod.restart()
                    pod.log(cluster.clock.node_ns(restart_at + 0.001), LINE.format("2"))  # logs at once
                    state["restarted"] = True
                pod.log(cluster.clock.node_ns(t), LINE.format("2"))
                t += period
            pod.next_t = t
            if state["restarted"] and not state["published"] and to_t >= restart_at + status_lag:
                pod.status_restarts = None
                state["published"] = True
    return generate


@pytest.mark.parametrize("status_lag", [0.0, 0.3, 1.5, 4.0])
@pytest.mark.parametrize("phase", [0.05, 0.45, 0.95])
def test_restart_with_late_status_counts_every_line_once(status_lag, phase):
    clock = FakeClock()
    pod = LogPod("frontend-a")
    start = clock.t
    cluster = FakeLogCluster(clock, [pod], restarting(start, start + 12 + phase, status_lag))
    p = params(expected={"1": 0, "2": 100}, min_samples=100000, max_samples=100000, timeout=25, poll_interval=1,
               settle_seconds=2)
    result = run(cluster, clock, p)
    assert result["method"] == "too-few-samples"
    assert len(pod.instances) == 2 and pod.instances[0] and pod.instances[1]
    truth = ground_truth(cluster, clock.node_ns(start + 2) - 1, clock.node_ns())
    assert result["counts"] == {"1": 0, "2": truth[LINE.format("2")]}, (status_lag, phase)


@pytest.mark.parametrize("status_lag", [0.0, 0.3, 1.5, 4.0])
@pytest.mark.parametrize("phase", [0.05, 0.45, 0.95])
def test_restart_with_late_status_catches_a_leak_in_the_old_instance_tail(status_lag, phase):
    clock = FakeClock()
    pod = LogPod("frontend-a")
    start = clock.t
    restart_at = start + 12 + phase
    cluster = FakeLogCluster(clock, [pod], restarting(start, restart_at, status_lag, leak=True))
    p = params(expected={"1": 0, "2": 100}, min_samples=100000, max_samples=100000, timeout=25, poll_interval=1,
               settle_seconds=2)
    result = run(cluster, clock, p)
    assert result["method"] == "exact-zero", result["reason"]
    # counted in time order up to the leak, which is the last line of the first instance
    leak_ns = clock.node_ns(restart_at - 0.001)
    assert pod.instances[0][-1] == (leak_ns, LINE.format("1"))
    truth = ground_truth(cluster, clock.node_ns(start + 2) - 1, leak_ns)
    assert result["counts"] == {"1": 1, "2": truth[LINE.format("2")]}


def test_rotation_between_the_current_and_the_previous_read():
    """The container restarts after its current log was read and before its previous log is: both reads return the
    old instance; its lines count once and the tail the current read missed counts too."""
    clock = FakeClock()
    pod = LogPod("frontend-a")
    start = clock.t
    cluster = FakeLogCluster(clock, [pod], steady(0.1, lambda pod, t: LINE.format("2"), start + 0.01))
    state = {"done": False}

    def rotate_after_current_read(cluster, read):
        name, since, previous, tail = read
        if not state["done"] and not previous and tail is None and clock.t >= start + 9:
            pod.log(clock.node_ns() - 1000, LINE.format("2"))  # logged after the current read returned
            pod.restart()
            state["done"] = True
    cluster.after_read = rotate_after_current_read
    result = run(cluster, clock, params(expected={"1": 0, "2": 100}, min_samples=100000, max_samples=100000,
                                        timeout=20, poll_interval=2, settle_seconds=2))
    assert state["done"] and len(pod.instances) == 2
    truth = ground_truth(cluster, clock.node_ns(start + 2) - 1, clock.node_ns())
    assert result["counts"] == {"1": 0, "2": truth[LINE.format("2")]}


def test_merge_instances():
    old = [(1, "a"), (2, "b"), (3, "c")]
    new = [(5, "d"), (6, "e")]
    assert merge_instances(old, new) == old + new
    assert merge_instances([], new) == new and merge_instances(old, []) == old
    # rotated between the reads: the current read is a part of the previous instance
    assert merge_instances([(2, "b"), (3, "c"), (4, "x")], [(1, "a"), (2, "b"), (3, "c")]) == old[:1] + [
        (2, "b"), (3, "c"), (4, "x")]


def test_max_samples_is_never_exceeded():
    """Polls bring hundreds of lines at once: counting stops at exactly max_samples, the rest of the poll (samples
    and error lines after it, in time order) is not counted."""
    clock = FakeClock()
    pods = [LogPod("frontend-a"), LogPod("frontend-b")]
    start = clock.t
    seq = {"i": 0}

    def chooser(pod, t):
        seq["i"] += 1
        return "<html>502</html>" if seq["i"] % 50 == 0 else LINE.format("1" if seq["i"] % 2 else "2")
    cluster = FakeLogCluster(clock, pods, steady(0.005, chooser, start + 0.01))
    result = run(cluster, clock, params(expected={"1": 50, "2": 50}, tolerance=0.02, min_samples=100,
                                        max_samples=777, settle_seconds=1, poll_interval=5, max_error_rate=0.5))
    assert result["samples"] == 777 == sum(result["counts"].values())
    assert "at max_samples 777 after 777 samples" in result["reason"]
    # the first 777 samples in time order (both pods) and only the errors among them
    lines = sorted((ts, text) for pod in pods for instance in pod.instances for ts, text in instance
                   if ts > clock.node_ns(start + 1))
    counted, errors = 0, 0
    for _ts, text in lines:
        if text.startswith("<html>"):
            errors += 1
        else:
            counted += 1
            if counted == 777:
                break
    assert result["errors"] == errors
    assert len(lines) > 1000  # a poll brought more than max_samples


def test_missing_namespace_is_named():
    clock = FakeClock()
    with pytest.raises(CanaryError) as err:
        run(FakeLogCluster(clock, []), clock, params(namespace="does-not-exist"))
    assert str(err.value) == ("namespace does-not-exist does not exist: check the namespace option (the namespace "
                              "where the pods matching 'app=frontend' run)")
    with pytest.raises(CanaryError) as err:
        run(FakeLogCluster(clock, []), clock, params(namespace="does-not-exist", source="probe"))
    assert "namespace does-not-exist does not exist" in str(err.value)


@pytest.mark.parametrize("latency", [0.0, 0.04, 0.3, 0.7])
def test_samples_are_exactly_the_first_lines_after_the_reported_boundary(latency):
    """A busy pod (a line every 33 ms), polls that drift by the read latency: the samples are the first N lines
    logged after the boundary the module reports, none missing at the start (the first read once the settle
    window is over reaches back before the boundary)."""
    clock = FakeClock()
    pod = LogPod("frontend-a")
    history(pod, clock, LINE.format("1"))
    rnd = random.Random(int(latency * 100))
    start = clock.t
    cluster = FakeLogCluster(clock, [pod], steady(0.033, lambda p, t: LINE.format(rnd.choice("12")), start + 0.01))

    def slow(_cluster, _read):
        clock.t += latency / 2  # two reads per pod and poll
    cluster.after_read = slow
    result = run(cluster, clock, params(expected={"1": 50, "2": 50}, test="presence", min_samples=1000,
                                        settle_seconds=3, poll_interval=1))
    assert result["decision"] == "pass" and result["samples"] == 1000, result["reason"]
    boundary = parse_timestamp(result["boundary"])
    after = sorted((ts, text) for instance in pod.instances for ts, text in instance if ts > boundary)[:1000]
    expected = {"1": 0, "2": 0}
    for _ts, text in after:
        expected[text.split('"version":"')[1][0]] += 1
    assert result["counts"] == expected
    # and the boundary is module start + settle on the node clock, earlier by at most one line period plus the
    # time the reads of that poll took
    assert clock.node_ns(start + 3) - (0.034 + latency) * NS <= boundary <= clock.node_ns(start + 3)


# ---- rounds (progress_interval): the action plugin's loop decides exactly as one call --------------------

def _restart_scenario(seed):
    """Two pods, one restarting at +12.5 s, 70/30 traffic from a seeded generator: the same lines every time."""
    clock = FakeClock()
    a, b = LogPod("frontend-a"), LogPod("frontend-b")
    for pod in (a, b):
        history(pod, clock, LINE.format("1"))
    start = clock.t
    rnd = random.Random(seed)
    gen = steady(0.05, lambda pod, t: LINE.format("2" if rnd.random() < 0.3 else "1"), start + 0.01)
    events = {"restarted": False}

    def generate(cluster, from_t, to_t):
        if not events["restarted"] and to_t >= start + 12.5:
            gen(cluster, from_t, start + 12.5)
            a.restart()
            events["restarted"] = True
            from_t = start + 12.5
        gen(cluster, from_t, to_t)
    return clock, FakeLogCluster(clock, [a, b], generate, cri=True)


def _same_verdict(one, rounds):
    for key in ("decision", "method", "counts", "samples", "errors", "shares", "intervals", "boundary", "pods",
                "trace"):
        assert one[key] == rounds[key], key


@pytest.mark.parametrize("over", [dict(expected={"1": 70, "2": 30}),
                                  dict(expected={"1": 50, "2": 50}, min_samples=2000, max_samples=2000),
                                  dict(expected={"1": 70, "2": 30}, tolerance=0.02, max_samples=1500)])
def test_logs_in_rounds_decide_exactly_as_one_call(over):
    results, progress = [], []
    for interval in (0, 3):
        clock, cluster = _restart_scenario(7)
        results.append(run(cluster, clock, params(progress_interval=interval, poll_interval=1, settle_seconds=2,
                                                  **over), rounds=progress))
    one, rounds = results
    _same_verdict(one, rounds)
    assert progress, "the measurement did not run in rounds"
    # a steady pace: every round ends within its 3 s (polls of 1 s), the elapsed time only grows
    elapsed = [p["elapsed"] for p in progress]
    assert elapsed == sorted(elapsed) and all(later - earlier <= 3.01 for earlier, later in zip(elapsed, elapsed[1:]))
    assert all(p["samples"] <= one["samples"] and p["decision"] is None for p in progress)


def test_time_between_rounds_counts_and_loses_no_line():
    """The controller's time between two rounds (module start-up) counts against the timeout and the read
    windows: lines logged meanwhile are read by the next round."""
    clock, cluster = _restart_scenario(11)
    p = params(expected={"1": 70, "2": 30}, min_samples=100000, max_samples=100000, timeout=60, poll_interval=1,
               settle_seconds=2, progress_interval=2)
    start = clock.t
    rounds = 0
    while True:
        result = measure_ratio(cluster, p, clock=clock.monotonic, sleep=clock.sleep, wall_ns=clock.node_ns,
                               wall=lambda: clock.t)
        if result["finished"]:
            break
        rounds += 1
        clock.sleep(6)  # a slow start-up of the next round: longer than the read margin (5 s)
        p = dict(p, resume=json.loads(json.dumps(result["state"])))
    assert rounds >= 5
    assert result["method"] == "too-few-samples" and 60 <= result["duration"] <= 67
    # lines count after the boundary and after module start + settle (see measure_logs)
    boundary = max(parse_timestamp(result["boundary"]), clock.node_ns(start + 2))
    truth = ground_truth(cluster, boundary, clock.node_ns(start + result["duration"]))
    counted = dict((LINE.format(v), c) for v, c in result["counts"].items() if c)
    # every line up to the end is counted once, the gaps included (the last poll is at the end)
    assert sum(truth.values()) > 2000
    for text, count in truth.items():
        assert 0 <= count - counted.get(text, 0) <= 2, (text, count, counted)


def test_probe_in_rounds_decides_exactly_as_one_call():
    results, progress = [], []
    for interval in (0, 5):
        clock = FakeClock()
        rnd = random.Random(5)

        def handler(cluster, name, container, script, timeout, clock=clock, rnd=rnd):
            clock.t += 2
            lines = [LINE.format("2" if rnd.random() < 0.2 else "1").strip() for _i in range(100)]
            return "\n".join(lines) + "\n", "", 0
        cluster = FakeLogCluster(clock, [LogPod("frontend-b"), LogPod("frontend-a")])
        cluster.exec_handler = handler
        results.append(run(cluster, clock, params(source="probe", expected={"1": 80, "2": 20}, settle_seconds=3,
                                                  progress_interval=interval), rounds=progress))
        if interval:
            names = [e[0] for e in cluster.execs]
            assert names[:4] == ["frontend-a", "frontend-b", "frontend-a", "frontend-b"]  # round robin kept
    one, rounds = results
    _same_verdict(one, rounds)
    assert len(progress) >= 2


def test_resume_from_a_foreign_state_is_refused():
    clock = FakeClock()
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")])
    with pytest.raises(CanaryError) as err:
        run(cluster, clock, params(resume={"elapsed": "soon"}))
    assert "resume" in err.value.msg and "leave resume unset" in err.value.msg
    state = {"elapsed": 1.0, "wall": clock.t, "verdict": {"sides": {"9": []}}}
    with pytest.raises(CanaryError) as err:
        run(cluster, clock, params(resume=state))
    assert "does not belong to a measurement with these options" in err.value.msg
