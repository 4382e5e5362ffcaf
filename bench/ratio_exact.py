"""Print exact operating characteristics (no simulation) of traffic_ratio's rule and of the tutorial's rule.

Table 1, the tutorial's method as a decision rule: look at ``--lines`` (5) log lines and pass when the count of
canary lines is the integer nearest lines * p0 (both on a tie: 0.5 -> 0 or 1), or, read loosely, within one of it.
Its false-fail (p = p0) and false-pass (p = p0 +/- tolerance) rates are binomial sums. Next to it the collection's
rule with the module's defaults (tolerance 0.05, alpha = beta = 0.01, min_samples 100, max_samples 5000,
max_error_rate 0.05): the per-side SPRT pair by dynamic programming (bench/exact.py), and at 0/100 the
exact-zero rule (pass iff all of the first max(min_samples, n0) samples are canary: p^n).

Table 2, the per-side SPRT pair at 90/10, 80/20 and 50/50: false-fail, miss on each side and ASN, exactly, with
Wald's lower bounds:

* ``wald short(a/2)``: the formula in the issue's text, (1 - a') ln((1 - a') / b) / KL(p0 || p0 +/- tol), harder
  side, a' = alpha / 2. It drops a negative term of Wald's bound, so it is slightly too high to be a bound;
* ``wald(a/2)``: Wald's bound, E0[N] KL(p0 || p1) >= (1 - a) ln((1 - a) / b) + a ln(a / (1 - b)), at a = alpha / 2
  (the issue's figures 418 / 650 / 906 are this one);
* ``wald(a)``: the same with the whole alpha, the bound for ANY test with false-fail <= alpha and miss <= beta at
  p0 +/- tol (a two-sided test is, per side, a one-sided test with type I error <= alpha);
* ``wald(rule)``: the same at the rule's own exact error rates (the ratio to Wald's bound "for these error rates").

``sd N`` is the exact standard deviation of the sample count under p0, and ``2 se @2000`` twice the standard error
of a 2,000-run simulation's mean: the spread to expect around the exact ASN.

    python bench/ratio_exact.py          # a few seconds
"""

import argparse
import sys

import exact  # bench/exact.py, next to this script
from ratio_asn import _import_path, module_verdict


def module_rule(p0, tolerance=0.05, alpha=0.01, beta=0.01, **options):
    """(sides, pass_floor, max_samples, truncate, verdict) of the module's rule for a two-version split; ``options``
    (min_samples, max_samples, ...) go to the module's argument spec like the others."""
    from ansible_collections.meshlab.canary.plugins.module_utils._verdict import ErrorRateTest, wilson

    canary = int(round(p0 * 1000))
    verdict = module_verdict({"1": 1000 - canary, "2": canary}, tolerance=tolerance, alpha=alpha, beta=beta,
                             **options)
    if not verdict.tested:
        return None, verdict.needed, verdict.max_samples, None, verdict
    tested = verdict.tested[0]
    share = verdict.expected[tested]
    sides = [exact.SideSpec(s.inc_hit, s.inc_miss, s.upper, s.lower, s.p1) for s in verdict.sides[tested]]
    # the error-rate test (on by default) accepts after a fixed number of error-free lines; no pass before it
    errors = ErrorRateTest(verdict.max_error_rate, verdict.error_rate_margin, verdict.alpha_side, verdict.beta)
    lines = 0
    while not errors.accepted() and lines < verdict.max_samples:
        errors.update(False)
        lines += 1
    floor = max(verdict.needed, lines)
    top = verdict.max_samples

    def truncate(hits, open_sides):  # Verdict._wilson for one tested version
        low, high = wilson(hits, top, 1.0 - 2.0 * verdict.alpha_side)
        if not low <= share <= high:
            return False
        low, high = wilson(hits, top, 1.0 - verdict.beta)
        return all((high < s.p1) if s.p1 > share else (low > s.p1) for s in open_sides)

    return sides, floor, top, truncate, verdict


def tested_share(p0):
    """The share the module tests for a canary share p0 (the smaller of the two)."""
    return min(p0, 1.0 - p0)


def table_tutorial(lines, tolerance):
    print("Table 1: the tutorial's rule (look at {0} log lines) against the collection's, exact; "
          "tolerance {1:g}".format(lines, tolerance))
    head = ("stage v1/v2", "rule", "pass if canary lines in", "false-fail", "false-pass p0-tol", "false-pass p0+tol",
            "samples")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for canary in (0.10, 0.80, 1.00):
        stage = "{0:g}/{1:g}".format(round(100 * (1 - canary)), round(100 * canary))
        offs = [canary - tolerance, canary + tolerance]
        for name, slack in (("tutorial, nearest", 0), ("tutorial, +/-1", 1)):
            band = exact.tutorial_band(canary, lines, slack)
            ff = 1.0 - exact.band_pass_probability(canary, lines, band)
            fp = [exact.band_pass_probability(p, lines, band) if 0.0 <= p <= 1.0 else None for p in offs]
            print("| " + " | ".join((stage, name, "[{0}, {1}] of {2}".format(band[0], band[1], lines), _f(ff),
                                     _f(fp[0]), _f(fp[1]), str(lines))) + " |")
        sides, floor, top, truncate, verdict = module_rule(canary, tolerance)
        if sides is None:  # one version with weight: the exact-zero rule over the first `needed` samples
            n = verdict.needed
            fp = [p ** n if 0.0 <= p <= 1.0 else None for p in offs]
            print("| " + " | ".join((stage, "collection (exact-zero)", "all {0} of {0}".format(n), _f(0.0),
                                     _f(fp[0]), _f(fp[1]), str(n))) + " |")
            continue
        p0 = tested_share(canary)
        ok = exact.sprt_pair_oc(sides, p0, floor, top, truncate)
        fp = []
        for p in offs:  # the off share of the canary, as the tested version's share
            fp.append(exact.sprt_pair_oc(sides, tested_share(p), floor, top,
                                         truncate)[1] if 0.0 < p < 1.0 else None)
        print("| " + " | ".join((stage, "collection (SPRT pair, DP)", "sequential", _f(ok[0]), _f(fp[0]), _f(fp[1]),
                                 "{0:.1f} (ASN)".format(ok[2]))) + " |")
    print()


def table_pair(tolerance, alpha, beta):
    print("Table 2: the per-side SPRT pair of the module, exact by dynamic programming over the binomial walk "
          "(tolerance {0:g}, alpha {1:g}, beta {2:g}, module defaults otherwise)".format(tolerance, alpha, beta))
    head = ("p0", "alpha'/side", "pass floor", "false-fail", "miss p0-tol", "miss p0+tol", "ASN ok", "sd N",
            "2 se @2000", "ASN p0-tol", "ASN p0+tol", "P(N=max)", "wald short(a/2)", "wald(a/2)", "wald(a)",
            "wald(rule)", "ASN/short(a/2)", "ASN/wald(rule)", "residue")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p0 in (0.10, 0.20, 0.50):
        sides, floor, top, truncate, verdict = module_rule(p0, tolerance, alpha, beta)
        ok = exact.sprt_pair_oc(sides, p0, floor, top, truncate)
        low = exact.sprt_pair_oc(sides, p0 - tolerance, floor, top, truncate)
        high = exact.sprt_pair_oc(sides, p0 + tolerance, floor, top, truncate)
        short = exact.harder_side_bound(p0, tolerance, alpha / 2.0, beta, exact.wald_bound_issue)
        half = exact.harder_side_bound(p0, tolerance, alpha / 2.0, beta)
        anytest = exact.harder_side_bound(p0, tolerance, alpha, beta)
        own = exact.harder_side_bound(p0, tolerance, ok[0], max(low[1], high[1]))
        row = ("{0:g}".format(p0), "{0:.5f}".format(verdict.alpha_side), str(floor), _f(ok[0]), _f(low[1]),
               _f(high[1]), "{0:.1f}".format(ok[2]), "{0:.0f}".format(ok[5]),
               "{0:.0f}".format(2.0 * ok[5] / 2000 ** 0.5), "{0:.1f}".format(low[2]), "{0:.1f}".format(high[2]),
               _f(ok[4]), "{0:.1f}".format(short), "{0:.1f}".format(half), "{0:.1f}".format(anytest),
               "{0:.1f}".format(own), "{0:.3f}".format(ok[2] / short), "{0:.3f}".format(ok[2] / own),
               "{0:.1e}".format(ok[3] + low[3] + high[3]))
        print("| " + " | ".join(row) + " |")
    print()


def _f(value):
    if value is None:
        return "-"
    if value == 0.0:
        return "0"
    if value < 1e-4:
        return "{0:.2e}".format(value)
    return "{0:.5f}".format(value)


def main():
    sys.path.insert(0, _import_path())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5, help="log lines the tutorial looks at (5)")
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--beta", type=float, default=0.01)
    args = parser.parse_args()
    table_tutorial(args.lines, args.tolerance)
    table_pair(args.tolerance, args.alpha, args.beta)


if __name__ == "__main__":
    main()
