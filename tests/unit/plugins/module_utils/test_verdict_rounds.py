"""Verdict state across rounds, checkpoints for the charts, and the progress line."""

import json
import math
import random

import pytest
from module_args import verdict as make_verdict

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._progress import progress_line
from ansible_collections.meshlab.canary.plugins.module_utils._verdict import Checkpoints


def feed(verdict, outcomes):
    for item in outcomes:
        if item is None:
            verdict.add_error()
        else:
            verdict.add(item)


def outcomes(seed, n, share2=0.1, error_every=0):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(None if error_every and i % error_every == error_every - 1 else ("2" if rnd.random() < share2 else "1"))
    return out


@pytest.mark.parametrize("share2, options", [(0.1, {}), (0.25, {}), (0.1, dict(max_error_rate=0.2)),
                                             (0.1, dict(tolerance=0.01, max_samples=3000))])
def test_state_round_trip_anywhere_gives_the_same_verdict(share2, options):
    seq = outcomes(4, 4000, share2, error_every=17 if "max_error_rate" in options else 0)
    whole = make_verdict({"1": 90, "2": 10}, **options)
    feed(whole, seq)
    for cut in (1, 37, 250, 999):
        first = make_verdict({"1": 90, "2": 10}, **options)
        feed(first, seq[:cut])
        second = make_verdict({"1": 90, "2": 10}, **options)
        second.restore(json.loads(json.dumps(first.to_state())))
        feed(second, seq[cut:])
        assert second.summary() == whole.summary()
        assert second.decision() == whole.decision() and second.decided_at == whole.decided_at
        assert second.finish("here") == whole.finish("here")
        assert second.trace() == whole.trace()


def test_restore_refuses_a_state_of_other_options():
    three = make_verdict({"1": 50, "2": 30, "3": 20})
    two = make_verdict({"1": 90, "2": 10})
    with pytest.raises(CanaryError) as err:
        two.restore(three.to_state())
    assert "does not belong to a measurement with these options" in err.value.msg


def test_checkpoints_stay_bounded_and_evenly_spaced():
    points = Checkpoints(["1", "2"], limit=200)
    counts = {"1": 0, "2": 0}
    for n in range(1, 10001):
        counts["1" if n % 10 else "2"] += 1
        points.record(n, 0, counts)
    final = points.final(10000, 0, counts)
    assert 100 <= len(final) <= 201
    lines = [p[0] + p[1] for p in final]
    assert lines[0] == 0 and lines[-1] == 10000
    steps = set(b - a for a, b in zip(lines, lines[1:-1]))
    assert steps == {points.step}, steps  # evenly spaced but for the final point
    assert final[-1][2] == {"1": 9000, "2": 1000}
    # a point holds the counts as they were then, not a reference to the live counts
    assert final[1][2]["2"] < 1000


def test_trace_llr_matches_the_counts():
    verdict = make_verdict({"1": 90, "2": 10})
    feed(verdict, outcomes(9, 3000))
    trace = verdict.trace()
    assert trace["decided_at"] == verdict.n and verdict.decision() == ("pass", "sprt")
    n, errors, counts = trace["checkpoints"][-1]
    assert (n, errors) == (verdict.n, 0) and counts == verdict.counts
    for side in trace["sprt"]["2"]:
        llr = counts["2"] * math.log(side["p1"] / side["p0"]) + (n - counts["2"]) * math.log(
            (1 - side["p1"]) / (1 - side["p0"]))
        if side["n"] == n:
            assert abs(llr - side["llr"]) < 1e-4
        assert side["lower"] == pytest.approx(math.log(0.01)) and side["state"] in ("accept", "reject", None)
    assert trace["confidence"] == pytest.approx(1 - 0.01 / 2)
    assert trace["error_test"]["mode"] == "sprt" and trace["error_test"]["n"] == verdict.n


def test_progress_line_says_what_stands():
    verdict = make_verdict({"1": 90, "2": 10})
    feed(verdict, ["1"] * 45 + ["2"] * 5)
    verdict.add_error()
    progress = verdict.progress()
    progress.update(elapsed=42.4, timeout=600, pods=2)
    line = progress_line(progress)
    assert line.startswith("90/10: 50 samples (at least 100, at most 5000)")
    assert "v1 0.900 [" in line and "(expected 0.900)" in line and "v2 0.100 [" in line
    assert "errors 1 (rate 0.020)" in line
    assert "tests: v2 high open, v2 low open, errors open" in line
    assert "2 pods" in line and "42 s elapsed, 558 s left of timeout 600" in line
    feed(verdict, ["1"] * 2000)
    progress = verdict.progress()
    progress.update(elapsed=700, timeout=600)
    assert "v2 low rejected" in progress_line(progress) and "0 s left" in progress_line(progress)
