"""Synthetic ``trace`` entries for canary reports that have none (reports from before traffic_ratio_info returned
one), so the HTML report's tests can draw charts from real reports (tests/fixtures/canary-reports/).

The samples of a stage are replayed in a fixed interleaved order that gives its recorded counts (and error
lines), through the collection's own one-sided SPRT (``_verdict.Sprt``); the checkpoints, test states and
``decided_at`` follow from that replay, so they are consistent with each other, not with the run that wrote
the report. Deterministic: no randomness.
"""

import copy
import math

from ansible_collections.meshlab.canary.plugins.module_utils._verdict import Sprt, zero_check_samples


def interleave(counts):
    """A fixed sequence with counts[key] of each key, spread evenly (largest deficit first, ties by key)."""
    total = sum(counts.values())
    given = dict((key, 0) for key in counts)
    out = []
    for index in range(total):
        key = max(sorted(counts), key=lambda k: counts[k] * (index + 1) / float(total) - given[k])
        given[key] += 1
        out.append(key)
    return out


def _tested(expected):
    positive = sorted(version for version, share in expected.items() if share > 0)
    if len(positive) >= 3:
        return positive
    if len(positive) == 2:
        return [min(positive, key=lambda version: (expected[version], version))]
    return []


def _side(test):
    return {"p0": test.p0, "p1": test.p1, "lower": test.lower, "upper": test.upper, "state": test.state,
            "n": test.n, "llr": test.llr}


def synthetic_trace(stage, expected, tolerance=0.1, alpha=0.05, beta=0.05, confidence=0.995, max_error_rate=0.05,
                    margin=0.025, checkpoints=200):
    """A trace for the stage (its ``counts`` and ``errors``) with these expected shares {version: share}."""
    counts = dict((str(k), int(v)) for k, v in (stage.get("counts") or {}).items())
    for version in expected:
        counts.setdefault(version, 0)
    samples = sum(counts.values())
    errors = int(stage.get("errors") or 0)
    tested = _tested(expected)
    sides = dict((version, [Sprt(expected[version], p1, alpha / (2 * len(tested) + 1), beta)
                            for p1 in (expected[version] + tolerance, expected[version] - tolerance)
                            if 0.0 < p1 < 1.0])
                 for version in tested)
    error_test = Sprt(max_error_rate - margin, max_error_rate, alpha / (2 * len(tested) + 1), beta)
    every = max(1, int(math.ceil(samples / float(checkpoints))))
    seen = dict((version, 0) for version in counts)
    points = [[0, 0, dict(seen)]]
    n = lines_errors = 0
    decided_at = None
    for item in interleave({"sample": samples, "error": errors}):
        if item == "error":
            lines_errors += 1
            error_test.update(True)
            continue
        error_test.update(False)
        version = interleave_next(counts, seen, n)
        seen[version] += 1
        n += 1
        for key, tests in sides.items():
            for test in tests:
                test.update(version == key)
        states = [test.state for tests in sides.values() for test in tests] + [error_test.state]
        enough = bool(tested) or n >= zero_check_samples(tolerance, beta)
        if decided_at is None and ("reject" in states or (enough and all(state == "accept" for state in states))):
            decided_at = n
        if n % every == 0 or n == samples:
            points.append([n, lines_errors, dict(seen)])
    return {
        "checkpoints": points,
        "expected_shares": dict(expected),
        "tolerance": tolerance,
        "confidence": confidence,
        "decided_at": decided_at,
        "sprt": dict((version, [_side(test) for test in tests]) for version, tests in sides.items()),
        "error_test": dict(_side(error_test), mode="sprt"),
    }


def interleave_next(counts, seen, index):
    """The next version of the even interleaving of counts after ``index`` samples with ``seen`` so far."""
    total = sum(counts.values())
    return max(sorted(counts), key=lambda k: counts[k] * (index + 1) / float(total) - seen[k])


def expected_of(report, stage):
    """{version: share} of a two-version stage from its label 'stable/canary'."""
    stable, canary = str(report.get("stable_version", "1")), str(report.get("canary_version", "2"))
    left, right = (float(part) for part in str(stage["label"]).split("/"))
    return {stable: left / (left + right), canary: right / (left + right)}


def with_traces(report, **options):
    """A copy of the report with a synthetic trace in every measured stage (one with samples)."""
    report = copy.deepcopy(report)
    for stage in report.get("stages") or []:
        if stage.get("samples"):
            stage["trace"] = synthetic_trace(stage, expected_of(report, stage), **options)
    return report
