"""Unit tests of bench/exact.py: the exact figures agree with closed forms and with a seeded simulation."""

import importlib.util
import math
import os
import random
from decimal import Decimal, getcontext

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench", "exact.py")
_SPEC = importlib.util.spec_from_file_location("bench_exact", _PATH)
exact = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(exact)


def test_binom_pmf_sums_to_one_and_cdf():
    assert abs(sum(exact.binom_pmf(20, k, 0.3) for k in range(21)) - 1.0) < 1e-12
    assert abs(exact.binom_cdf(0, 5, 0.1) - 0.9 ** 5) < 1e-12


def test_clopper_pearson_edges_and_coverage():
    low, high = exact.clopper_pearson(0, 10)
    assert low == 0.0 and abs(high - (1 - 0.025 ** 0.1)) < 1e-9
    low, high = exact.clopper_pearson(108, 10000)
    assert low < 0.0108 < high and 0.0085 < low < 0.0095 and 0.0125 < high < 0.0135


def _upper_tail(k, n, p):
    """P(X >= k) for X ~ Bin(n, p) by the term recurrence in 50-digit decimals: independent of exact.binom_pmf."""
    getcontext().prec = 50
    p = Decimal(p)
    q = 1 - p
    term, below = q ** n, Decimal(0)
    for i in range(k):
        below += term
        term = term * (n - i) / (i + 1) * p / q
    return 1 - below


def test_clopper_pearson_known_values():
    # k = 1 and k = n - 1 have closed forms: P(X >= 1) = 1 - (1 - p)^n = 0.025 at the lower end
    low, high = exact.clopper_pearson(1, 50)
    assert abs(low - (1 - 0.975 ** (1 / 50.0))) < 1e-12
    low, high = exact.clopper_pearson(49, 50)
    assert abs(high - 0.975 ** (1 / 50.0)) < 1e-12
    # 108 fails in 10,000 runs (the issue's example): [0.008868, 0.013025]; the issue's [0.0090, 0.0130] is the
    # Wilson interval [0.008954, 0.013022], slightly narrower at the low end
    low, high = exact.clopper_pearson(108, 10000)
    assert abs(low - 0.0088676) < 1e-6 and abs(high - 0.0130246) < 1e-6
    # each end is where its tail holds 2.5 %, by a computation that shares no code with exact.py
    assert abs(float(_upper_tail(108, 10000, low)) - 0.025) < 1e-9
    assert abs(1.0 - float(_upper_tail(109, 10000, high)) - 0.025) < 1e-9


def test_wald_bound_forms():
    issue = exact.wald_bound_issue(0.5, 0.55, 0.005, 0.01)
    full = exact.wald_bound(0.5, 0.55, 0.005, 0.01)
    assert full < issue < 1.01 * full
    expected = max(exact.wald_bound(0.1, 0.05, 0.005, 0.01), exact.wald_bound(0.1, 0.15, 0.005, 0.01))
    assert abs(exact.harder_side_bound(0.1, 0.05, 0.005, 0.01) - expected) < 1e-9 * expected


def test_tutorial_band():
    assert exact.tutorial_band(0.1, 5) == (0, 1)  # 0.5: a tie
    assert exact.tutorial_band(0.8, 5) == (4, 4)
    assert exact.tutorial_band(0.8, 5, 1) == (3, 5)
    assert abs(exact.band_pass_probability(1.0, 5, (5, 5)) - 1.0) < 1e-12
    assert abs(exact.band_pass_probability(0.95, 5, (5, 5)) - 0.95 ** 5) < 1e-12


def _sides(p0, tol, alpha, beta):
    return [exact.SideSpec(math.log(p1 / p0), math.log((1 - p1) / (1 - p0)), math.log(1 / alpha), math.log(beta), p1)
            for p1 in (p0 + tol, p0 - tol)]


def _simulate(sides, p, floor, top, rnd):
    states = [None] * len(sides)
    k = 0
    for n in range(1, top + 1):
        k += rnd.random() < p
        for i, side in enumerate(sides):
            if states[i] is None:
                states[i] = side.state(n, k)
        if "reject" in states:
            return "fail", n
        if all(s == "accept" for s in states):
            return "pass", max(n, floor)
    return "trunc", top


def test_pair_dp_matches_simulation():
    sides = _sides(0.3, 0.1, 0.05, 0.05)
    fail, passed, asn, residue, truncated, _sd = exact.sprt_pair_oc(sides, 0.3, 30, 400, lambda k, o: False)
    assert abs(fail + passed + residue - 1.0) < 1e-12
    rnd = random.Random(7)
    runs = [_simulate(sides, 0.3, 30, 400, rnd) for _i in range(4000)]
    sim_fail = sum(r[0] != "pass" for r in runs) / len(runs)
    sim_asn = sum(r[1] for r in runs) / len(runs)
    assert abs(sim_fail - fail) < 4 * math.sqrt(fail * (1 - fail) / len(runs)) + 1e-3
    assert abs(sim_asn - asn) < 0.05 * asn
    assert 0.0 < truncated and fail - truncated <= 0.1  # Ville: each side rejects with probability <= alpha


def test_one_side_rejects_at_most_alpha_under_h0():
    side = _sides(0.2, 0.1, 0.01, 0.01)[:1]
    fail = exact.sprt_pair_oc(side, 0.2, 0, 3000, lambda k, o: True)[0]
    assert 0.001 < fail <= 0.01


def test_lagrangian_bound_below_every_rule_and_policy_oc():
    p0, tol, weights = 0.3, 0.1, (500.0, 800.0, 800.0)
    value, policy = exact.lagrangian_rule(p0, tol, weights, 400)
    ok, high, low = exact.policy_oc(policy, p0), exact.policy_oc(policy, p0 + tol), exact.policy_oc(policy, p0 - tol)
    # the policy's own Lagrangian is at least the bound's value (the bound values the horizon as free)
    own = ok[2] + weights[0] * ok[0] + weights[1] * high[1] + weights[2] * low[1]
    assert value <= own + 1e-6
    # and so is the SPRT pair's, a rule among all rules
    sides = _sides(p0, tol, 0.025, 0.05)
    pair = [exact.sprt_pair_oc(sides, p, 0, 400, lambda k, o: False) for p in (p0, p0 + tol, p0 - tol)]
    assert value <= pair[0][2] + weights[0] * pair[0][0] + weights[1] * pair[1][1] + weights[2] * pair[2][1] + 1e-6
    assert abs(ok[0] + ok[1] - 1.0) < 1e-9


def test_policy_boundaries_runs_cover_the_band():
    table = exact.policy_boundaries([(0, "C"), (0, "FC"), (1, "CCP")])
    assert table == [(0, [(0, 0, "C")]), (1, [(0, 0, "F"), (1, 1, "C")]), (2, [(1, 2, "C"), (3, 3, "P")])]


def test_lagrangian_bound_is_below_a_rule_of_its_class_and_above_wald():
    p0, tol, alpha, beta = 0.3, 0.1, 0.02, 0.05
    sides = _sides(p0, tol, alpha / 2.0, beta)
    top = 600
    runs = [exact.sprt_pair_oc(sides, p, 0, top, lambda k, o: False) for p in (p0, p0 + tol, p0 - tol)]
    # the pair, truncated at 600 and failing there, is a rule with its own error rates: no valid bound for those
    # rates exceeds its ASN
    fail, miss = runs[0][0], max(runs[1][1], runs[2][1])
    bound, weights = exact.best_lagrangian_bound(p0, tol, fail, miss, 900, steps=3)
    assert bound <= runs[0][2]
    # any weights give a bound below it too, the starting ones and far-off ones
    for scale in (0.1, 1.0, 10.0):
        trial = [w * scale for w in exact.start_weights(p0, tol, fail, miss)]
        assert exact.lagrangian_bound(p0, tol, fail, miss, trial, 900) <= runs[0][2]
    # and the tuned bound, using both sides at once, beats the one-sided Wald bound of the harder side
    assert bound > exact.harder_side_bound(p0, tol, fail, miss)
    assert all(w > 0 for w in weights)


def test_start_weights_drop_a_side_outside_the_unit_interval():
    weights = exact.start_weights(0.05, 0.05, 0.01, 0.05)
    assert weights[0] > 0 and weights[1] > 0 and weights[2] == 0.0


def _play(policy, p, rnd):
    """One seeded walk through a policy table, as policy_oc defines it (outside the band or at the end: fail)."""
    k = 0
    for n, (low, acts) in enumerate(policy):
        act = acts[k - low] if 0 <= k - low < len(acts) else "F"
        if act != "C" or n + 1 == len(policy):
            return ("pass" if act == "P" else "fail"), n
        k += rnd.random() < p


def test_policy_oc_matches_simulation():
    p0, tol = 0.3, 0.1
    _value, policy = exact.lagrangian_rule(p0, tol, (300.0, 1500.0, 1500.0), 400)
    rnd = random.Random(11)
    for p in (p0, p0 + tol):
        fail, _passed, asn = exact.policy_oc(policy, p)
        runs = [_play(policy, p, rnd) for _i in range(4000)]
        sim_fail = sum(r[0] == "fail" for r in runs) / len(runs)
        sim_asn = sum(r[1] for r in runs) / len(runs)
        assert abs(sim_fail - fail) < 4 * math.sqrt(fail * (1 - fail) / len(runs)) + 1e-3
        assert abs(sim_asn - asn) < 0.05 * asn
