import math
import os
import random
import sys

import pytest
from module_args import verdict as make_verdict

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._verdict import (
    Sprt,
    expected_shares,
    wilson,
    zero_check_samples,
)

# the fixed-size comparison test is bench code (not shipped in module_utils)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "bench"))
from fixed_size import fixed_ok, fixed_sample_size  # noqa: E402  pylint: disable=wrong-import-position

WHERE = "in 60 s from 1 pod"


@pytest.mark.parametrize("k, n, conf, low, high", [
    (10, 100, 0.95, 0.0552, 0.1744),   # textbook Wilson interval
    (0, 100, 0.95, 0.0, 0.0370),
    (100, 100, 0.95, 0.9630, 1.0),
    (50, 100, 0.99, 0.3753, 0.6247),   # z = 2.5758: centre 0.5, half-width 0.1247
])
def test_wilson_known_values(k, n, conf, low, high):
    got = wilson(k, n, conf)
    assert got[0] == pytest.approx(low, abs=1e-4)
    assert got[1] == pytest.approx(high, abs=1e-4)


def test_wilson_without_data():
    assert wilson(0, 0, 0.99) == [0.0, 1.0]


@pytest.mark.parametrize("tol, beta, n", [(0.05, 0.01, 90), (0.1, 0.05, 29), (0.05, 0.05, 59)])
def test_zero_check_samples(tol, beta, n):
    assert zero_check_samples(tol, beta) == n
    # the definition: (1 - tol)^n <= beta, and n - 1 would not do
    assert (1 - tol) ** n <= beta < (1 - tol) ** (n - 1)


def test_sprt_bounds_and_lock():
    sprt = Sprt(0.1, 0.15, 0.005, 0.01)
    assert sprt.upper == pytest.approx(math.log(200))
    assert sprt.lower == pytest.approx(math.log(0.01))
    state = None
    while state is None:
        state = sprt.update(True)
    assert state == "reject"
    n = sprt.n
    assert sprt.update(False) == "reject" and sprt.n == n  # locked


@pytest.mark.parametrize("expected, tested", [
    ({"1": 90, "2": 10}, ["2"]),
    ({"1": 20, "2": 80}, ["1"]),
    ({"1": 50, "2": 50}, ["1"]),
    ({"1": 70, "2": 20, "3": 10}, ["3", "2", "1"]),
    ({"1": 0, "2": 100}, []),
    ({"1": 70, "2": 30, "3": 0}, ["2"]),
])
def test_tested_versions(expected, tested):
    assert make_verdict(expected).tested == tested


def test_side_outside_the_unit_interval_is_skipped():
    verdict = make_verdict({"1": 97, "2": 3}, tolerance=0.05)
    assert [(s.p0, s.p1) for s in verdict.sides["2"]] == [(0.03, pytest.approx(0.08))]


@pytest.mark.parametrize("expected, fragment", [
    ({}, "expected must be a dict"),
    ([90, 10], "expected must be a dict"),
    ({"1": 0, "2": 0}, "all zero"),
    ({"1": -10, "2": 110}, "expected['1'] must be >= 0"),
    ({"1": True, "2": 10}, "must be a number"),
    ({"1": "ninety"}, "must be a number"),
    ({"1": float("nan")}, "finite"),
])
def test_expected_rejects(expected, fragment):
    with pytest.raises(CanaryError) as err:
        expected_shares(expected)
    assert fragment in str(err.value)


def test_expected_accepts_numeric_strings_and_int_keys():
    weights, shares = expected_shares({1: "90", 2: 10})
    assert weights == {"1": 90.0, "2": 10}
    assert shares == {"1": 0.9, "2": 0.1}


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(tolerance=0), "tolerance must be in (0.0, 0.5]"),
    (dict(tolerance=0.6), "tolerance must be in"),
    (dict(alpha=0), "alpha must be in"),
    (dict(beta=0.5), "beta must be in"),
    (dict(min_samples=0), "min_samples must be a whole number >= 1"),
    (dict(min_samples=100, max_samples=50), "max_samples must be a whole number >= min_samples (100)"),
    (dict(max_error_rate=1.5), "max_error_rate must be in"),
])
def test_parameters_rejected(kwargs, fragment):
    with pytest.raises(CanaryError) as err:
        make_verdict({"1": 90, "2": 10}, **kwargs)
    assert fragment in str(err.value)


def test_exact_zero_passes_after_enough_samples():
    verdict = make_verdict({"1": 0, "2": 100}, max_error_rate=1.0)  # the error-rate rule off: exact zero alone
    assert verdict.needed == 100  # max(min_samples 100, n0 90)
    for _i in range(99):
        assert verdict.add("2") is None
    assert verdict.add("2") == ("pass", "exact-zero")
    decision, method, reason = verdict.finish(WHERE)
    assert (decision, method) == ("pass", "exact-zero")
    assert reason == "all 100 samples went to the versions with weight (v2) in 60 s from 1 pod"


def test_exact_zero_one_sample_fails():
    verdict = make_verdict({"1": 0, "2": 100})
    for _i in range(500):
        verdict.add("2")
    verdict = make_verdict({"1": 0, "2": 100})
    verdict.add("2")
    assert verdict.add("1") == ("fail", "exact-zero")
    decision, method, reason = verdict.finish(WHERE)
    assert decision == "fail" and method == "exact-zero"
    assert reason.startswith("version 1 has weight 0 but got 1 of 2 samples after the settle window")


def test_unknown_version_fails():
    verdict = make_verdict({"1": 90, "2": 10})
    assert verdict.add("3") == ("fail", "exact-zero")
    assert "version 3 is not in expected" in verdict.finish(WHERE)[2]


def test_no_traffic_to_canary_is_rejected_early():
    verdict = make_verdict({"1": 90, "2": 10})
    decision = None
    while decision is None:
        decision = verdict.add("1")
    assert decision == ("fail", "sprt")
    # alpha' = 0.01 / 3 (two sides and the error-rate test): log(300) / log(0.95 / 0.9) = 105.5 -> rejected at
    # the 106th sample of v1 only
    assert verdict.alpha_side == pytest.approx(0.01 / 3)
    assert verdict.n == 106
    reason = verdict.finish(WHERE)[2]
    assert reason.startswith("sequential test rejected the split 90/10: share of v2 is below the expected 0.100 by "
                             "0.05 or more (v1 1.000, v2 0.000) after 106 samples")


def test_correct_deterministic_stream_passes():
    verdict = make_verdict({"1": 90, "2": 10})
    i = 0
    while verdict.decision() is None:
        verdict.add("2" if i % 10 == 0 else "1")
        i += 1
    decision, method, reason = verdict.finish(WHERE)
    assert (decision, method) == ("pass", "sprt")
    assert reason.startswith("sequential test accepted the split 90/10 within 0.05 after")
    assert verdict.n >= 100


def test_too_few_samples_message():
    verdict = make_verdict({"1": 90, "2": 10})
    for i in range(12):
        verdict.add("1" if i % 6 else "2")
    decision, method, reason = verdict.finish(WHERE, "the timeout")
    assert (decision, method) == ("fail", "too-few-samples")
    assert reason == "collected 12 of at least 100 samples in 60 s from 1 pod"


def alternate(verdict, n):
    for i in range(n):
        verdict.add("1" if i % 2 else "2")


def test_truncation_passes_when_the_interval_is_within_tolerance():
    # exactly 50/50; with tolerance 0.1 both sequential tests are still open after 200 samples (LLR -4.1);
    # 99% Wilson half-width at n = 200: 2.5758 * sqrt(0.25/200 + 2.5758^2/160000) / (1 + 2.5758^2/200) = 0.0896
    verdict = make_verdict({"1": 50, "2": 50}, tolerance=0.1, min_samples=50, max_samples=200)
    alternate(verdict, 200)
    assert verdict.decision() is None and verdict.full()
    decision, method, reason = verdict.finish(WHERE, "max_samples 200")
    assert (decision, method) == ("pass", "wilson")
    assert reason == ("sequential test undecided at max_samples 200 after 200 samples in 60 s from 1 pod; decided "
                      "by Wilson intervals: v1 99% interval [0.410, 0.590] within 0.500 +/- 0.1")


def test_truncation_with_too_few_samples_is_inconclusive_and_fails():
    verdict = make_verdict({"1": 50, "2": 50}, tolerance=0.1, min_samples=50, max_samples=60)
    alternate(verdict, 60)
    decision, method, reason = verdict.finish(WHERE, "max_samples 60")
    assert (decision, method) == ("fail", "wilson")
    assert "inconclusive, v1 99% interval [0.342, 0.658] not within 0.500 +/- 0.1" in reason
    assert "collect more samples" in reason


def test_truncation_fails_when_p0_is_outside_the_interval():
    # v1 share 0.8 against p0 0.5; with tolerance 0.45 the upper SPRT (H1 0.95) is still open after 60 samples
    skewed = make_verdict({"1": 50, "2": 50}, min_samples=50, max_samples=60, tolerance=0.45)
    for i in range(60):
        skewed.add("1" if i % 5 else "2")
    assert skewed.decision() is None
    decision, method, reason = skewed.finish(WHERE, "max_samples 60")
    assert (decision, method) == ("fail", "wilson")
    # 1 - 2 alpha' with alpha' = 0.01 / 3
    assert "v1 expected 0.500 outside the 99.3333% interval" in reason


def test_error_rate_fails_a_passing_stage():
    verdict = make_verdict({"1": 0, "2": 100}, max_error_rate=0.05)
    i = 0
    while verdict.decision() is None:
        if i % 10 == 9:  # every tenth line an error: rate 0.1, twice the limit
            verdict.add_error()
        else:
            verdict.add("2")
        i += 1
    # H0 0.025 vs H1 0.05 at alpha 0.01 (the only test that can reject this stage): the LLR gains ln 2 per error
    # and loses ln(0.975 / 0.95) per sample; ln(100) is crossed at the 11th error (110 lines)
    assert (verdict.errors, verdict.n) == (11, 99)
    decision, method, reason = verdict.finish(WHERE)
    assert (decision, method) == ("fail", "error-rate")
    assert reason == ("sequential error-rate test: the error rate is above max_error_rate 0.05 (H0 0.025 = "
                      "max_error_rate - error_rate_margin rejected at alpha 0.01): 11 error lines among 110 lines "
                      "(rate 0.100), 99 samples in 60 s from 1 pod")


def test_errors_are_mentioned_on_pass():
    verdict = make_verdict({"1": 0, "2": 100})
    verdict.add_error(2)
    while verdict.decision() is None:
        verdict.add("2")
    decision, _method, reason = verdict.finish(WHERE)
    # 2 errors: ln 4 above the start, so (ln 4 - ln 0.01) / ln(0.975 / 0.95) = 231 clean samples to accept
    assert decision == "pass" and verdict.n == 231
    assert reason.endswith("; 2 error lines (rate 0.009)")


def test_error_rate_rule_needs_its_own_samples():
    """With no error line, H0 is accepted after ceil(ln(1 / beta) / ln(0.975 / 0.95)) = 178 lines (defaults)."""
    verdict = make_verdict({"1": 0, "2": 100})
    assert verdict.errors_test.alpha == 0.01  # 0/100: the error-rate test is the only one with an alpha
    for _i in range(177):
        assert verdict.add("2") is None
    assert verdict.add("2") == ("pass", "exact-zero")
    loose = make_verdict({"1": 0, "2": 100}, beta=0.05)  # ceil(ln 20 / ln(0.975 / 0.95)) = 116
    while loose.decision() is None:
        loose.add("2")
    assert loose.n == 116


@pytest.mark.parametrize("expected, limit, parts", [
    ({"1": 90, "2": 10}, 0.05, 3),   # two sides + the error-rate test
    ({"1": 90, "2": 10}, 1.0, 2),    # error-rate rule off
    ({"1": 90, "2": 10}, 0.0, 2),    # no error allowed: exact, no alpha
    ({"1": 70, "2": 20, "3": 10}, 0.05, 7),
    ({"1": 0, "2": 100}, 0.05, 1),
])
def test_alpha_is_shared_by_every_test_that_can_fail_a_correct_stage(expected, limit, parts):
    verdict = make_verdict(expected, alpha=0.03, max_error_rate=limit)
    assert verdict.alpha_side == pytest.approx(0.03 / parts)


def test_max_error_rate_zero_fails_at_the_first_error_line():
    verdict = make_verdict({"1": 0, "2": 100}, max_error_rate=0.0)
    for _i in range(50):
        verdict.add("2")
    assert verdict.add_error() == ("fail", "error-rate")
    assert verdict.finish(WHERE)[2] == ("max_error_rate 0 allows no error line, got 1 among 51 lines (rate 0.020) "
                                        "in 60 s from 1 pod")


def test_max_error_rate_one_ignores_errors():
    verdict = make_verdict({"1": 0, "2": 100}, max_error_rate=1.0)
    verdict.add_error(500)
    for _i in range(100):
        verdict.add("2")
    assert verdict.finish(WHERE)[:2] == ("pass", "exact-zero")


@pytest.mark.parametrize("margin", [0, 0.05, 0.06, -0.01, True])
def test_error_rate_margin_rejected(margin):
    with pytest.raises(CanaryError) as err:
        make_verdict({"1": 90, "2": 10}, max_error_rate=0.05, error_rate_margin=margin)
    assert "error_rate_margin must be a number in (0, max_error_rate 0.05)" in str(err.value)


def test_error_rate_margin_default_is_half_the_limit():
    assert make_verdict({"1": 90, "2": 10}, max_error_rate=0.2).error_rate_margin == 0.1
    assert make_verdict({"1": 90, "2": 10}, max_error_rate=0.2, error_rate_margin=0.05).errors_test.e0 == \
        pytest.approx(0.15)


def test_nothing_is_counted_beyond_max_samples():
    verdict = make_verdict({"1": 50, "2": 50}, tolerance=0.1, min_samples=10, max_samples=25, max_error_rate=1.0)
    for i in range(40):
        verdict.add("1" if i % 2 else "2")
        verdict.add_error()
    assert verdict.n == 25 and sum(verdict.counts.values()) == 25
    assert verdict.errors == 24  # errors after the 25th sample are not counted either
    assert verdict.full() and verdict.finish(WHERE, "max_samples 25")[2].startswith(
        "sequential test undecided at max_samples 25 after 25 samples")


def test_error_rate_truncation_passes_below_the_limit():
    # 0/100 with min_samples 100: no error line, but max_samples 150 stops before the 178 lines the test needs;
    # the 99% interval of 0 errors in 150 lines ends at 0.042 < 0.05
    verdict = make_verdict({"1": 0, "2": 100}, max_samples=150)
    while not verdict.full():
        verdict.add("2")
    decision, method, reason = verdict.finish(WHERE, "max_samples 150")
    assert (decision, method) == ("pass", "exact-zero")
    assert reason.endswith("; error-rate test undecided at max_samples 150 with 0 error lines among 150 lines "
                           "(rate 0.000): the 99% interval [..., 0.042] lies below max_error_rate 0.05")


def test_error_rate_truncation_inconclusive_fails():
    verdict = make_verdict({"1": 0, "2": 100}, max_samples=100)
    verdict.add_error(2)
    while not verdict.full():
        verdict.add("2")
    decision, method, reason = verdict.finish(WHERE, "max_samples 100")
    assert (decision, method) == ("fail", "error-rate")
    assert "inconclusive, the 99% interval [..., 0.094] reaches max_error_rate 0.05" in reason


def test_error_rate_truncation_fails_on_evidence():
    # a narrow margin (H0 0.099 against 0.1) makes the sequential test slow: 49 errors among 149 lines do not
    # reject it (LLR 49 ln(0.1 / 0.099) - 100 ln(0.901 / 0.9) = 0.39), but the interval lies far above 0.1
    verdict = make_verdict({"1": 0, "2": 100}, max_error_rate=0.1, error_rate_margin=0.001, max_samples=100)
    while not verdict.full():
        verdict.add("2")
        if verdict.n % 2 == 0:
            verdict.add_error()
    assert (verdict.errors, verdict.errors_test.state) == (49, None)  # none after the 100th sample
    decision, method, reason = verdict.finish(WHERE, "max_samples 100")
    assert (decision, method) == ("fail", "error-rate")
    assert reason.startswith("error-rate test undecided at max_samples 100 with 49 error lines among 149 lines (rate "
                             "0.329): max_error_rate 0.1 lies below the 98% interval [0.247, ...]")


def test_summary_fields():
    verdict = make_verdict({"1": 90, "2": 10})
    for i in range(50):
        verdict.add("2" if i % 10 == 0 else "1")
    summary = verdict.summary()
    assert summary["counts"] == {"1": 45, "2": 5}
    assert summary["shares"] == {"1": 0.9, "2": 0.1}
    assert summary["samples"] == 50
    assert summary["expected_shares"] == {"1": 0.9, "2": 0.1}
    low, high = summary["intervals"]["2"]
    assert low < 0.1 < high
    # Bonferroni over the 2 reported versions: 99.5 % intervals, wider than 99 %
    assert high - low > wilson(5, 50, 0.99)[1] - wilson(5, 50, 0.99)[0]


def test_fixed_sample_size_is_the_smallest_that_works():
    n = fixed_sample_size(0.1, 0.05, 0.01, 0.01)
    assert fixed_ok(n, 0.1, 0.05, 0.01, 0.01)
    assert not fixed_ok(n - 1, 0.1, 0.05, 0.01, 0.01)
    # normal approximation for the harder side (0.1 -> 0.15): ((2.576*0.3 + 2.326*0.357) / 0.05)^2 ~ 1028
    assert 950 <= n <= 1150


# ---- calibration ---------------------------------------------------------------------

def run_stage(rnd, expected, p_canary, **kwargs):
    verdict = make_verdict(expected, **kwargs)
    while verdict.decision() is None and not verdict.full():
        verdict.add("2" if rnd.random() < p_canary else "1")
    decision, method, _reason = verdict.finish("in simulation", "max_samples")
    return decision, verdict.n, method


def test_calibration_error_rates_and_average_samples():
    """Seeded simulation of the decision rule at 90/10 with the module defaults.

    2,000 correctly routed stages and 2,000 stages whose canary share is off by exactly the tolerance (1,000 at
    0.15 and 1,000 at 0.05). Slack: three binomial standard errors of the nominal rate over 2,000 stages.
    """
    rnd = random.Random(20261127)
    expected = {"1": 90, "2": 10}
    kw = dict(tolerance=0.05, alpha=0.01, beta=0.01, min_samples=100, max_samples=5000)
    stages = 2000
    correct = [run_stage(rnd, expected, 0.10, **kw) for _i in range(stages)]
    off = [run_stage(rnd, expected, 0.15, **kw) for _i in range(stages // 2)]
    off += [run_stage(rnd, expected, 0.05, **kw) for _i in range(stages // 2)]

    false_fail = sum(stage[0] == "fail" for stage in correct) / stages
    miss = sum(stage[0] == "pass" for stage in off) / stages
    asn_correct = sum(stage[1] for stage in correct) / stages
    asn_off = sum(stage[1] for stage in off) / stages
    fixed = fixed_sample_size(0.1, 0.05, 0.01, 0.01)
    slack = 3 * math.sqrt(0.01 * 0.99 / stages)
    print("\ncalibration 90/10, tolerance 0.05, alpha 0.01, beta 0.01, {0} + {0} stages:".format(stages))
    print("  false-failure rate {0:.4f} (alpha 0.01), miss rate {1:.4f} (beta 0.01), slack {2:.4f}".format(
        false_fail, miss, slack))
    print("  average samples: correct {0:.0f}, off by tolerance {1:.0f}; fixed-size test {2}".format(
        asn_correct, asn_off, fixed))
    print("  truncated (wilson): {0}".format(sum(stage[2] == "wilson" for stage in correct + off)))
    assert false_fail <= 0.01 + slack
    assert miss <= 0.01 + slack
    # the point of a sequential test: clearly fewer samples than the fixed-size test on average
    assert asn_correct < 0.7 * fixed and asn_off < 0.7 * fixed
    # and never fewer than min_samples for a pass
    assert min(stage[1] for stage in correct if stage[0] == "pass") >= 100


def test_calibration_three_versions_bonferroni():
    """Smaller seeded check of the family-wise rate with three tested versions (70/20/10)."""
    rnd = random.Random(7)
    expected = {"1": 70, "2": 20, "3": 10}
    stages = 600
    fails = 0
    total = 0
    for _i in range(stages):
        verdict = make_verdict(expected, tolerance=0.1, alpha=0.05, beta=0.05, min_samples=50, max_samples=5000)
        while verdict.decision() is None and not verdict.full():
            x = rnd.random()
            verdict.add("1" if x < 0.7 else ("2" if x < 0.9 else "3"))
        fails += verdict.finish("in simulation")[0] == "fail"
        total += verdict.n
    rate = fails / stages
    print("\nthree versions 70/20/10, tolerance 0.1, alpha 0.05: false-failure rate {0:.4f}, average samples "
          "{1:.0f}".format(rate, total / stages))
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / stages)


def test_calibration_truncated_stages_rarely_pass_a_misroute():
    """With a sample cap far below what the sequential test needs (600 at 90/10, about one request per second for
    ten minutes), stages are often decided by the Wilson fallback: misrouted ones must still rarely pass."""
    rnd = random.Random(600)
    expected = {"1": 90, "2": 10}
    kw = dict(tolerance=0.05, alpha=0.01, beta=0.01, min_samples=100, max_samples=600)
    stages = 1000
    off = [run_stage(rnd, expected, 0.15, **kw) for _i in range(stages // 2)]
    off += [run_stage(rnd, expected, 0.05, **kw) for _i in range(stages // 2)]
    miss = sum(stage[0] == "pass" for stage in off) / stages
    truncated = sum(stage[2] == "wilson" for stage in off)
    print("\ncapped at 600 samples: miss rate {0:.4f} (beta 0.01), {1} of {2} off-by-tolerance stages truncated".format(
        miss, truncated, stages))
    assert truncated > stages // 10  # the fallback really was exercised
    assert miss <= 0.01 + 3 * math.sqrt(0.01 * 0.99 / stages)


def run_errors(rnd, expected, error_rate, **kwargs):
    verdict = make_verdict(expected, **kwargs)
    share = verdict.expected.get("2", 0.0)
    while verdict.decision() is None and not verdict.full():
        if rnd.random() < error_rate:
            verdict.add_error()
        else:
            verdict.add("2" if rnd.random() < share else "1")
    decision, method, _reason = verdict.finish("in simulation", "max_samples")
    return decision, method, verdict.n + verdict.errors


@pytest.mark.parametrize("expected, stages", [({"1": 0, "2": 100}, 2000)])  # 90/10 and more rates: bench/error_rate.py
def test_calibration_error_rate_test(expected, stages):
    """Seeded simulation of correctly routed stages with the module defaults (max_error_rate 0.05, margin 0.025):
    at the largest error rate that must pass (0.025) false failures stay within alpha, at max_error_rate the stage
    fails with probability at least 1 - beta. Slack: three binomial standard errors."""
    rnd = random.Random(20261202)
    kw = dict(tolerance=0.05, alpha=0.01, beta=0.01, max_error_rate=0.05)
    at_h0 = [run_errors(rnd, expected, 0.025, **kw) for _i in range(stages)]
    at_limit = [run_errors(rnd, expected, 0.05, **kw) for _i in range(stages)]
    false_fail = sum(r[0] == "fail" for r in at_h0) / stages
    detected = sum(r[0] == "fail" and r[1] == "error-rate" for r in at_limit) / stages
    slack = 3 * math.sqrt(0.01 * 0.99 / stages)
    print("\nerror-rate test {0}: false failures at 0.025 {1:.4f} (alpha 0.01), detection at 0.05 {2:.4f} (1 - beta "
          "0.99), average lines {3:.0f} / {4:.0f}".format(
              "/".join(str(w) for w in expected.values()), false_fail, detected,
              sum(r[2] for r in at_h0) / stages, sum(r[2] for r in at_limit) / stages))
    assert false_fail <= 0.01 + slack
    assert detected >= 0.99 - slack


# ---- presence test (no defined split: every version with weight must answer) ----

def test_presence_passes_once_every_version_answered_and_min_samples_reached():
    v = make_verdict({"1": 1, "2": 1}, min_samples=20, test="presence")
    for _sample in range(25):
        assert v.add("1") is None  # a skewed distribution (least_time) is not a failure
    assert v.add("2") == ("pass", "presence")
    decision, method, reason = v.finish(WHERE)
    assert (decision, method) == ("pass", "presence")
    assert reason == "every version with weight answered: v1 25, v2 1 in 26 samples " + WHERE


def test_presence_needs_min_samples_even_when_both_answered():
    v = make_verdict({"1": 1, "2": 1}, min_samples=20, test="presence")
    for version in ["1", "2"] * 9:
        assert v.add(version) is None
    assert v.finish(WHERE)[:2] == ("fail", "too-few-samples")
    assert v.add("1") is None
    assert v.add("2") == ("pass", "presence")


def test_presence_fails_at_truncation_naming_the_silent_version():
    v = make_verdict({"1": 1, "2": 1}, min_samples=20, max_samples=50, test="presence")
    for _sample in range(50):
        v.add("1")
    assert v.decision() is None and v.full()
    decision, method, reason = v.finish(WHERE)
    assert (decision, method) == ("fail", "presence")
    assert reason == "version(s) 2 never answered in 50 samples " + WHERE + " (v1 1.000, v2 0.000)"


def test_presence_keeps_the_exact_zero_rule_for_weight_zero():
    v = make_verdict({"1": 1, "2": 1, "3": 0}, min_samples=5, test="presence")
    v.add("1")
    assert v.add("3") == ("fail", "exact-zero")


def test_presence_still_applies_the_error_rate():
    # evidence only: 8 errors reject H0 0.025 (ln 2 each, ln(1 / 0.01) = 4.6 needed) before presence can pass
    v = make_verdict({"1": 1, "2": 1}, min_samples=4, max_error_rate=0.05, test="presence")
    assert v.add_error(8) == ("fail", "error-rate")
    # a few errors do not hold a presence pass back
    v = make_verdict({"1": 1, "2": 1}, min_samples=4, max_error_rate=0.05, test="presence")
    v.add_error(2)
    for version in ("1", "2", "1"):
        assert v.add(version) is None
    assert v.add("2") == ("pass", "presence")


def test_unknown_test_is_rejected_by_the_argument_spec():
    with pytest.raises(AssertionError, match="value of test must be one of: split, presence, got: share"):
        make_verdict({"1": 1, "2": 1}, test="share")
