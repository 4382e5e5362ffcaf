"""The canary role on real loopback traffic: a correct split passes, every injected fault is caught.

Each test runs ``ansible-playbook playbooks/site.yml --tags canary`` against the lab deployed by the
``lab`` fixture (conftest.py) and checks the play's exit status, the report JSON and the
TrafficSplit read back from the API. The frontend sends about 50 requests/s through meshsim.
"""

import calendar
import collections
import os
import re
import time
import uuid

import pytest

from conftest import NAMESPACE, ROOT_SERVICE

V1_ONLY = {"backend-v1": 100, "backend-v2": 0}
W90_10 = {"backend-v1": 90, "backend-v2": 10}
W20_80 = {"backend-v1": 20, "backend-v2": 80}
V2_ONLY = {"backend-v1": 0, "backend-v2": 100}
# traffic_ratio's default pattern
VERSION = re.compile(r'"version"\s*:\s*"(?P<version>[^"]+)"')


def check_stage_counts(stage):
    """A measured stage's figures are consistent: the counts add up to the samples."""
    assert stage["verified"] is True, stage
    assert stage["samples"] == sum(stage["counts"].values()), stage
    assert stage["samples"] > 0, stage


def progress_lines(stdout):
    """{task name: [progress lines printed while it ran]} of the play output (default callback)."""
    shown, task = {}, None
    for line in stdout.splitlines():
        head = re.match(r"^TASK \[(.*)\] \**$", line)
        if head:
            task = head.group(1)
        elif task and "] traffic_ratio_info round " in line:
            shown.setdefault(task, []).append(line)
    return shown


@pytest.mark.parametrize("source", ["logs", "probe"])
def test_correct_split_passes_every_stage(clean, source):
    # a progress line every 2 s, so that even a short stage prints some while it is measured
    proc, report = clean.run_canary("correct-" + source, [10, 80, 100], source=source,
                                    canary_ratio_progress_interval=2)

    assert proc.returncode == 0, proc.stdout[-4000:]
    assert report["outcome"] == "promoted"
    assert [s["label"] for s in report["stages"]] == ["90/10", "20/80", "0/100"]
    assert [s["decision"] for s in report["stages"]] == ["pass", "pass", "pass"]
    assert [s["weights"] for s in report["stages"]] == [W90_10, W20_80, V2_ONLY]
    for stage in report["stages"]:
        check_stage_counts(stage)
        assert stage["samples"] >= 100, stage  # the module's min_samples default
        assert stage["errors"] == 0, stage
    assert report["stages"][2]["counts"].get("1", 0) == 0
    assert report["rollback"] is None
    assert clean.split_weights() == V2_ONLY
    # live progress: lines printed during each stage's measurement, samples growing, the stage's weights named
    shown = progress_lines(proc.stdout)
    for stage in report["stages"]:
        lines = shown.get("meshlab.canary.canary : Measure the split real traffic took at " + stage["label"])
        assert lines, "no progress line while stage {0} was measured:\n{1}".format(stage["label"], proc.stdout[-4000:])
        assert stage["rounds"] == len(lines) + 1, (stage["rounds"], lines)
        samples = [int(re.search(r": (\d+) samples", line).group(1)) for line in lines]
        assert samples == sorted(samples) and samples[-1] <= stage["samples"], lines
        assert all(stage["label"] + ": " in line and " s left of timeout " in line and "tests: " in line
                   for line in lines), lines
        # the report keeps what its charts need
        trace = stage["trace"]
        assert trace["checkpoints"][-1][0] == stage["samples"] and trace["decided_at"] == stage["samples"]


def test_misroute_in_stage_two_rolls_back_to_stage_one(clean):
    # misrouting (uniform, i.e. 50/50 with one pod per version) switched on once 20/80 is applied
    trigger = clean.when_split(W20_80, lambda: clean.annotate_service(ROOT_SERVICE, {"meshsim.test/misroute": "uniform"}))
    try:
        proc, report = clean.run_canary("misroute-stage2", [10, 80])
    finally:
        trigger.join()

    assert trigger.fired_at is not None, "the misroute switch was never flipped"
    assert proc.returncode != 0
    assert "failed at stage 2 (20/80)" in proc.stdout
    assert "Weights were rolled back to 90/10." in proc.stdout
    assert report["outcome"] == "rolled_back"
    first, second = report["stages"]
    assert first["decision"] == "pass" and first["weights"] == W90_10
    check_stage_counts(first)
    assert second["decision"] == "fail" and second["weights"] == W20_80
    check_stage_counts(second)
    # the report shows why: the v2 share measured well below 0.8
    assert second["shares"]["2"] < 0.7, second
    assert second["reason"], second
    assert report["rollback"]["label"] == "90/10" and report["rollback"]["applied"] is True
    assert report["rollback"]["weights"] == W90_10
    assert clean.split_weights() == W90_10


def test_misroute_in_stage_one_rolls_back_to_stable(clean):
    clean.annotate_service(ROOT_SERVICE, {"meshsim.test/misroute": "uniform"})
    proc, report = clean.run_canary("misroute-stage1", [10, 80])

    assert proc.returncode != 0
    assert "failed at stage 1 (90/10)" in proc.stdout
    assert report["outcome"] == "rolled_back"
    assert len(report["stages"]) == 1, "the loop must stop at the failed stage"
    stage = report["stages"][0]
    assert stage["decision"] == "fail"
    check_stage_counts(stage)
    assert stage["shares"]["2"] > 0.3, stage
    assert report["rollback"]["label"] == "100/0" and report["rollback"]["applied"] is True
    assert clean.split_weights() == V1_ONLY


def test_v2_answering_errors_fails_on_max_error_rate(clean):
    # every v2 pod answers HTTP 500 (nginx's error page, one line per request)
    clean.annotate_service("backend-v2", {"meshsim.test/fault": "http500"})
    proc, report = clean.run_canary("v2-http500", [10])

    assert proc.returncode != 0
    assert report["outcome"] == "rolled_back"
    stage = report["stages"][0]
    assert stage["decision"] == "fail"
    assert stage["method"] == "error-rate", stage
    assert "max_error_rate" in stage["reason"], stage
    assert stage["errors"] > 0 and stage["error_rate"] > 0.05, stage
    assert stage["counts"].get("2", 0) == 0, "a v2 error page must not count as a v2 sample"
    assert clean.split_weights() == V1_ONLY


def test_one_v1_response_after_settle_fails_zero_stage(clean):
    # the stage is kept long (min_samples 1500, ~30 s at 50 requests/s) so that exactly one v1
    # response, leaked 4 s after the module's 3 s settle window began, lands inside the measurement
    trigger = clean.when_split(V2_ONLY, lambda: clean.annotate_service(
        ROOT_SERVICE, {"meshsim.test/leak": "backend-v1=1"}), delay=7.0, measuring=True)
    try:
        proc, report = clean.run_canary("leak-zero-stage", [100], canary_ratio_min_samples=1500)
    finally:
        trigger.join()

    assert trigger.fired_at is not None, "the leak switch was never flipped"
    assert proc.returncode != 0
    assert report["outcome"] == "rolled_back"
    stage = report["stages"][0]
    assert stage["label"] == "0/100" and stage["decision"] == "fail"
    assert stage["counts"].get("1") == 1, stage
    assert stage["method"] == "exact-zero", stage
    check_stage_counts(stage)
    assert stage["samples"] < 1500, "the single v1 response must fail the stage at once"
    assert clean.split_weights() == V1_ONLY


def parse_ts(text):
    """RFC 3339 with up to nanoseconds ('2026-11-27T18:55:42.754874123Z') -> integer ns since the epoch."""
    main, _dot, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")) * 10 ** 9 + int((frac + "0" * 9)[:9])


def responses_after(path, boundary_ns):
    """(timestamp ns, version) of every response line of a CRI log file stamped after the boundary."""
    found = []
    if not os.path.exists(path):
        return found
    with open(path) as handle:
        for line in handle:
            stamp, _stream, _tag, text = (line.rstrip("\n").split(" ", 3) + ["", "", ""])[:4]
            match = VERSION.search(text)
            if match and parse_ts(stamp) > boundary_ns:
                found.append((parse_ts(stamp), match.group("version")))
    return found


def test_frontend_restart_mid_stage_neither_breaks_nor_biases(clean):
    pod = clean.frontend_pods()[0]
    name = pod.metadata.name
    restarts_before = sum(cs.restart_count for cs in (pod.status.container_statuses or []))
    token = uuid.uuid4().hex[:8]
    # the restart comes 8 s after the ratio module started: 5 s into the measurement (3 s settle),
    # which needs 1000 samples (~20-40 s at the frontend's rate)
    trigger = clean.when_split(W90_10, lambda: clean.annotate_pod(name, {"meshsim.test/restart": token}),
                               delay=8.0, measuring=True)
    try:
        proc, report = clean.run_canary("frontend-restart", [10], verbose=True, canary_ratio_min_samples=1000)
    finally:
        trigger.join()

    assert trigger.fired_at is not None, "the restart switch was never flipped"
    assert proc.returncode == 0, proc.stdout[-4000:]
    stage = report["stages"][0]
    assert stage["decision"] == "pass", stage
    check_stage_counts(stage)
    assert stage["samples"] == 1000 and stage["errors"] == 0, stage
    # the restart really happened (kubelet-style restartCount from meshsim)
    pod_after = clean.core.read_namespaced_pod(name, NAMESPACE)
    restarts_after = sum(cs.restart_count for cs in (pod_after.status.container_statuses or []))
    assert restarts_after == restarts_before + 1, "the frontend container was not restarted exactly once"
    # not biased, not double counted: the samples are exactly the first 1000 responses logged after
    # the module's boundary (traffic_ratio's result, printed with -v), across the previous (before the
    # restart) and the current container log, and both instances contributed
    boundaries = re.findall(r"boundary: ['\"]?([0-9]{4}-[0-9T:.\-]+Z)", proc.stdout)
    assert boundaries, "traffic_ratio returned no boundary"
    boundary_ns = parse_ts(boundaries[-1])
    previous_log, current_log = clean.frontend_logs()[name]
    before = responses_after(previous_log, boundary_ns)
    after = responses_after(current_log, boundary_ns)
    counted = sorted(before + after)[:stage["samples"]]
    assert len(counted) == stage["samples"], "fewer responses in the logs than samples: double counting"
    assert dict(collections.Counter(v for _ts, v in counted)) == stage["counts"], (before[:3], after[:3])
    assert before and counted[-1][0] > after[0][0], "the counted window did not span the restart"
    assert clean.split_weights() == W90_10
