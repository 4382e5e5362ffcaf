"""Resume, never regress: the canary role's state on the split, on real loopback traffic (issue 11).

Each test runs ``playbooks/site.yml --tags canary`` against the lab of the ``lab`` fixture (conftest.py) and
watches the TrafficSplit with the API's watch while a run goes on, so "nothing was written" and "no write moved
the canary share below X" are checked against every write the API server saw, not only the end state.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import urllib3
from kubernetes import watch
from kubernetes.client.rest import ApiException

from conftest import ARTIFACTS, NAMESPACE, PLAY_TIMEOUT, SPLIT, SPLIT_NAME, ansible_env, canary_vars
from support.waiting import wait_until

STATE_KEY = "meshlab.canary/rollout"
W90_10 = {"backend-v1": 90, "backend-v2": 10}
W20_80 = {"backend-v1": 20, "backend-v2": 80}
W50_50 = {"backend-v1": 50, "backend-v2": 50}
V2_ONLY = {"backend-v1": 0, "backend-v2": 100}
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class Run(object):
    """One ``ansible-playbook site.yml --tags canary`` run, started in the background (own process group)."""

    def __init__(self, name, report_dir, stages, check=False, **overrides):
        self.name = name
        self.report_dir = report_dir
        fd, self.varfile = tempfile.mkstemp(prefix="e2e-vars-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(canary_vars(report_dir, stages, **overrides), handle)
        cmd = [shutil.which("ansible-playbook") or "ansible-playbook", _playbook(), "-e", "@" + self.varfile,
               "--tags", "canary"]
        if check:
            cmd += ["--check", "--diff"]
        self.log_path = os.path.join(report_dir, "play-{0}.log".format(name))
        os.makedirs(report_dir, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=_repo(), env=ansible_env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     universal_newlines=True, start_new_session=True)

    def wait(self, timeout=PLAY_TIMEOUT):
        try:
            self.proc.wait(timeout)
        finally:
            self.stop_group()
        self.log.close()
        os.unlink(self.varfile)
        with open(self.log_path) as handle:
            self.stdout = handle.read()
        print("\n[e2e] {0}: rc={1} in {2:.1f} s".format(self.name, self.proc.returncode,
                                                        time.monotonic() - self.started))
        return self

    def signal(self, sig):
        """Signal ansible-playbook itself (not its workers), as a CI runner or a lost terminal does."""
        self.proc.send_signal(sig)

    def stop_group(self):
        """After the run: end whatever the run left behind (workers of a killed ansible-playbook)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @property
    def rc(self):
        return self.proc.returncode

    def recap(self):
        match = RECAP.search(self.stdout)
        assert match, "no PLAY RECAP in the output:\n" + self.stdout[-3000:]
        return dict(zip(("ok", "changed", "unreachable", "failed"), (int(g) for g in match.groups())))


def flat(text):
    """The play output with every run of whitespace as one space (the callback wraps long messages)."""
    return " ".join(text.split())


def _repo():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _playbook():
    return os.path.join(_repo(), "playbooks", "site.yml")


def run_canary(name, report_dir, stages, check=False, **overrides):
    return Run(name, report_dir, stages, check=check, **overrides).wait()


def reports(report_dir):
    """{run_id: report} of the per-run JSON reports in ``report_dir`` (the history)."""
    found = {}
    for entry in sorted(os.listdir(report_dir)):
        if entry.startswith("canary-report-") and entry.endswith(".json"):
            with open(os.path.join(report_dir, entry)) as handle:
                data = json.load(handle)
            found[data["run_id"]] = data
    return found


def latest(report_dir):
    with open(os.path.join(report_dir, "canary-report.json")) as handle:
        return json.load(handle)


class SplitWatch(object):
    """Every event the API server sends for the TrafficSplit from a resourceVersion on (a write = an event)."""

    def __init__(self, lab, resource_version):
        self.custom = lab.custom
        self.resource_version = resource_version
        self.last_rv = resource_version
        self.events = []
        self.errors = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="split-watch", daemon=True)

    def _loop(self):
        rv = self.resource_version
        while not self.stop_event.is_set():
            w = watch.Watch()
            try:
                for event in w.stream(self.custom.list_namespaced_custom_object, SPLIT[0], SPLIT[1], NAMESPACE,
                                      SPLIT[2], field_selector="metadata.name=" + SPLIT_NAME,
                                      resource_version=rv, timeout_seconds=2):
                    obj = event["object"]
                    rv = obj["metadata"]["resourceVersion"]
                    self.last_rv = rv
                    annotations = obj["metadata"].get("annotations") or {}
                    state = json.loads(annotations[STATE_KEY]) if STATE_KEY in annotations else None
                    self.events.append({
                        "type": event["type"], "rv": rv,
                        "weights": dict((b["service"], b["weight"]) for b in (obj.get("spec") or {}).get("backends", [])),
                        "state": state})
                    if self.stop_event.is_set():
                        break
            except (ApiException, urllib3.exceptions.HTTPError, ValueError) as exc:  # asserted empty by the tests
                self.errors.append(repr(exc))
                self.stop_event.wait(0.5)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        # the run has ended: wait until the stream has delivered the split's current version, then stop
        try:
            current = self.custom.get_namespaced_custom_object(SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2], SPLIT_NAME)
            target = current["metadata"]["resourceVersion"]
        except ApiException as exc:
            if exc.status != 404:
                raise
            target = self.resource_version
        wait_until("the watch to see resourceVersion {0}".format(target), lambda: self.last_rv == target, timeout=30)
        self.stop_event.set()
        self.thread.join(10)
        print("[e2e] watch saw {0} write(s): {1}".format(len(self.events), [
            (e["type"], e["weights"].get("backend-v2"), (e["state"] or {}).get("status"),
             (e["state"] or {}).get("run_id")) for e in self.events]))

    def canary_shares(self):
        return [e["weights"].get("backend-v2") for e in self.events]


def split_object(lab):
    return lab.custom.get_namespaced_custom_object(SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2], SPLIT_NAME)


def split_state(lab):
    return json.loads(split_object(lab)["metadata"]["annotations"][STATE_KEY])


def rv_of(lab):
    return split_object(lab)["metadata"]["resourceVersion"]


@pytest.fixture
def report_dir(request):
    path = os.path.join(ARTIFACTS, "resume-" + request.node.name.replace("[", "-").replace("]", ""))
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def test_second_run_after_promotion_writes_nothing(clean, report_dir):
    first = run_canary("first", report_dir, [10, 80, 100])
    assert first.rc == 0, first.stdout[-4000:]
    assert latest(report_dir)["outcome"] == "promoted"
    state = split_state(clean)
    assert (state["status"], state["stage"], state["verdict"], state["weights"]) == ("promoted", 3, "pass", V2_ONLY)
    rv = rv_of(clean)

    with SplitWatch(clean, rv) as seen:
        second = run_canary("second", report_dir, [10, 80, 100])
    assert second.rc == 0, second.stdout[-4000:]
    assert second.recap()["changed"] == 0, second.stdout[-4000:]
    assert rv_of(clean) == rv, "the second run wrote the split"
    assert seen.events == [] and seen.errors == []
    assert "Already promoted" in flat(second.stdout)
    report = latest(report_dir)
    assert report["outcome"] == "already_promoted" and report["stages"] == []
    assert report["decision"]["action"] == "none"

    # --check --diff on the promoted lab: rc 0, the decision shown, nothing written
    with SplitWatch(clean, rv) as seen:
        check = run_canary("check-promoted", report_dir, [10, 80, 100], check=True)
    assert check.rc == 0, check.stdout[-4000:]
    assert "CHECK MODE, nothing is written or measured. Already promoted" in flat(check.stdout)
    assert "stage 3 0/100: live and passed, nothing to do" in flat(check.stdout)
    assert seen.events == [] and rv_of(clean) == rv

    # canary_reverify: the final stage is measured again, read-only
    with SplitWatch(clean, rv) as seen:
        again = run_canary("reverify", report_dir, [10, 80, 100], canary_reverify=True)
    assert again.rc == 0, again.stdout[-4000:]
    assert again.recap()["changed"] == 0
    assert seen.events == [] and rv_of(clean) == rv
    report = latest(report_dir)
    assert report["outcome"] == "already_promoted"
    assert [(s["label"], s["mode"], s["decision"]) for s in report["stages"]] == [("0/100", "reverify", "pass")]
    assert report["stages"][0]["samples"] >= 100 and report["stages"][0]["counts"].get("1", 0) == 0

    # history: every real run has its own report (the check run writes none)
    history = reports(report_dir)
    assert len(history) == 3, sorted(history)
    outcomes = sorted(r["outcome"] for r in history.values())
    assert outcomes == ["already_promoted", "already_promoted", "promoted"]
    promoted = [r for r in history.values() if r["outcome"] == "promoted"][0]
    assert [s["decision"] for s in promoted["stages"]] == ["pass", "pass", "pass"]
    assert promoted["run_id"] == state["run_id"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_in_stage_two_then_rerun_resumes_without_moving_back(clean, report_dir, sig):
    # every stage needs 600 samples (12 s at the frontend's ~50 requests/s, longer on a busy machine), after
    # the 3 s settle window: a kill right after 20/80 shows in the API lands inside stage 2's measurement
    killed = Run("killed", report_dir, [10, 80, 100], canary_ratio_min_samples=600)
    wait_until("stage 2 (20/80) applied", lambda: clean.split_weights() == W20_80, timeout=PLAY_TIMEOUT,
               interval=0.1)
    killed.signal(sig)
    killed.wait(timeout=60)
    assert killed.rc != 0
    assert clean.split_weights() == W20_80
    state = split_state(clean)
    assert (state["status"], state["stage"], state["verdict"]) == ("running", 2, "pending"), state

    # the killed run's report holds the stage it finished
    mine = reports(report_dir)[state["run_id"]]
    assert mine["outcome"] == "in_progress"
    assert [(s["label"], s["decision"]) for s in mine["stages"]] == [("90/10", "pass")]

    rv = rv_of(clean)
    with SplitWatch(clean, rv) as seen:
        # the killed run's heartbeat is fresh: a plain rerun refuses, naming it, and writes nothing
        refused = run_canary("refused", report_dir, [10, 80, 100])
        assert refused.rc != 0
        busy = "Another canary rollout of {0}/{1} is in progress: run {2}".format(
            NAMESPACE, SPLIT_NAME, state["run_id"])
        assert busy in flat(refused.stdout), refused.stdout[-3000:]
        assert rv_of(clean) == rv
        # the operator knows it is gone: take over; stage 2 is re-verified, never rewritten, then 0/100
        resumed = run_canary("resumed", report_dir, [10, 80, 100], canary_takeover=True)
    assert resumed.rc == 0, resumed.stdout[-4000:]
    assert seen.errors == []
    assert seen.events, "the resumed run wrote nothing"
    assert min(seen.canary_shares()) >= 80, seen.events
    assert seen.events[0]["weights"] == W20_80, "the first write must keep stage 2's weights"
    report = latest(report_dir)
    assert report["outcome"] == "promoted" and report["decision"]["took_over"] == state["run_id"]
    assert [(s["label"], s["mode"], s["decision"]) for s in report["stages"]] == [
        ("20/80", "reverify", "pass"), ("0/100", "apply", "pass")]
    assert report["stages"][0]["weights_changed"] is False
    assert report["stages"][0]["samples"] >= 100
    assert clean.split_weights() == V2_ONLY
    assert split_state(clean)["status"] == "promoted"


def test_two_runs_started_together_exactly_one_proceeds(clean, report_dir):
    with SplitWatch(clean, clean.custom.list_namespaced_custom_object(
            SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2])["metadata"]["resourceVersion"]) as seen:
        # different plans, so the final weights tell which run proceeded
        runs = [Run("a", report_dir, [10, 80]), Run("b", report_dir, [10, 50])]
        for item in runs:
            item.wait()
    winners = [r for r in runs if r.rc == 0]
    losers = [r for r in runs if r.rc != 0]
    assert len(winners) == 1 and len(losers) == 1, [(r.name, r.rc) for r in runs]
    winner, loser = winners[0], losers[0]
    state = split_state(clean)
    assert state["status"] == "completed"
    busy = "Another canary rollout of {0}/{1} is in progress: run {2}".format(NAMESPACE, SPLIT_NAME, state["run_id"])
    assert busy in flat(loser.stdout), loser.stdout[-4000:]
    expected = {"a": W20_80, "b": W50_50}[winner.name]
    assert clean.split_weights() == expected
    # every write the API server saw came from the winner
    assert seen.errors == [] and seen.events
    assert set(e["state"]["run_id"] for e in seen.events if e["state"]) == set([state["run_id"]])


def test_hand_edited_weights_outside_the_plan_stop_the_run(clean, report_dir):
    first = run_canary("first", report_dir, [10, 80])
    assert first.rc == 0, first.stdout[-4000:]
    clean.custom.patch_namespaced_custom_object(SPLIT[0], SPLIT[1], NAMESPACE, SPLIT[2], SPLIT_NAME, {
        "spec": {"backends": [{"service": "backend-v1", "weight": 50}, {"service": "backend-v2", "weight": 50}]}})
    rv = rv_of(clean)
    with SplitWatch(clean, rv) as seen:
        stopped = run_canary("stopped", report_dir, [10, 80, 100])
    assert stopped.rc != 0
    out = flat(stopped.stdout)
    assert "match no stage of the plan 90/10 -> 20/80 -> 0/100" in out, out[-3000:]
    assert "backend-v1=50, backend-v2=50" in out and "canary_restart=true" in out
    assert "Nothing was written" in out
    assert seen.events == [] and rv_of(clean) == rv
    assert clean.split_weights() == W50_50
    assert latest(report_dir)["outcome"] == "refused"


def test_stop_gate_pauses_and_the_next_run_continues(clean, report_dir):
    gate = {"canary_pause": [{"stage": 2, "action": "stop"}]}
    paused = run_canary("paused", report_dir, [10, 80, 100], **gate)
    assert paused.rc == 0, paused.stdout[-4000:]
    state = split_state(clean)
    assert (state["status"], state["paused_before"], state["weights"]) == ("paused", 2, W90_10), state
    report = latest(report_dir)
    assert report["outcome"] == "paused" and [s["label"] for s in report["stages"]] == ["90/10"]

    # --check --diff on the half-done lab: rc 0, the planned writes shown, nothing written
    rv = rv_of(clean)
    with SplitWatch(clean, rv) as seen:
        check = run_canary("check-half-done", report_dir, [10, 80, 100], check=True, **gate)
    assert check.rc == 0, check.stdout[-4000:]
    assert "Stage 1 (90/10) is live (passed)" in flat(check.stdout)
    assert "stage 2 20/80: write backend-v1=20, backend-v2=80, then measure" in flat(check.stdout)
    assert "stage 3 0/100: write backend-v1=0, backend-v2=100, then measure" in flat(check.stdout)
    # the --diff of stage 2's write: 90/10 before, 20/80 after
    # (the callback prints the diff as YAML: "-        backend-v2: 10")
    assert re.search(r'^-\s+"?backend-v2"?: 10$', check.stdout, re.M), check.stdout[-3000:]
    assert re.search(r'^\+\s+"?backend-v2"?: 80$', check.stdout, re.M), check.stdout[-3000:]
    assert seen.events == [] and rv_of(clean) == rv

    with SplitWatch(clean, rv) as seen:
        resumed = run_canary("resumed", report_dir, [10, 80, 100], **gate)
    assert resumed.rc == 0, resumed.stdout[-4000:]
    assert min(seen.canary_shares()) >= 10
    report = latest(report_dir)
    assert report["outcome"] == "promoted"
    assert [(s["label"], s["mode"]) for s in report["stages"]] == [
        ("90/10", "reverify"), ("20/80", "apply"), ("0/100", "apply")]
    assert clean.split_weights() == V2_ONLY
