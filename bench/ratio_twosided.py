"""Look for a two-sided rule with fewer average samples than the per-side SPRT pair, and bound every such rule.

For a tested share p0 and tolerance, any rule that stops on (n, k) and passes only from ``--pass-floor`` samples
on (178: the module's error-rate test accepts no earlier) is scored by the Lagrangian
E_p0[N] + l0 P_p0(fail) + l+ P_p0+tol(pass) + l- P_p0-tol(pass). Backward induction over the binomial walk gives
its minimum (bench/exact.py ``lagrangian_rule``), so for every rule with P_p0(fail) <= a and miss <= b at both
p0 +/- tol (weak duality):

    E_p0[N] >= min_rules Lagrangian - l0 a - (l+ + l-) b

whatever the weights (cells beyond a 9-sd band and beyond ``--horizon`` are valued as a free decision, so the
bound holds for rules of any length). The weights are tuned by bisection, one at a time, towards the error targets;
the best bound is printed, and so is the best rule met on the way whose exact figures (forward DP, no
simulation) meet the targets: a table of (n, k) -> continue / fail / pass, the Bayes rule of Kiefer-Weiss type.
Its guarantee is the exact computation at p0 and p0 +/- tol; the table also prints the largest miss on a grid of
shares from tol to 3 tol away (steps of tol / 20), evidence, not a proof, that the miss stays below beta
farther out (the rule's table is not monotone in k, so its operating characteristic need not be either).
The share test's false-fail budget is 2 alpha / 3 (the module spends alpha / 3 on the error-rate test).

    python bench/ratio_twosided.py              # about two minutes
    python bench/ratio_twosided.py --steps 4 --rounds 1   # quicker, weaker
    python bench/ratio_twosided.py --dump rules.json   # also write the best rules' tables (n -> runs of k)
    python bench/ratio_twosided.py --calibrate 7   # also the pair with its bounds calibrated on the exact OC
"""

import argparse
import json
import sys
import time

import exact  # bench/exact.py, next to this script


# tested share, horizon, starting weights (l0, l+, l-) near the optimum found by earlier searches
CASES = [
    (0.10, 2000, (900.0, 7700.0, 1900.0)),
    (0.20, 3000, (1400.0, 10300.0, 5900.0)),
    (0.50, 4000, (2300.0, 13900.0, 13900.0)),
]
GRID = 40  # shares p0 +/- tol (1 + j / 20), j = 0 .. GRID: the miss is checked from tol out to 3 tol


def pair_oc(p0, tolerance, alpha, beta, upper=None, lower=None):
    """Exact (false-fail, worse miss, ASN, module's upper, module's lower) of the module's pair with its bounds
    replaced by ``upper`` / ``lower`` (ln of the reject / accept likelihood ratios; None keeps the module's
    ln(1 / alpha') and ln(beta)), the module's pass floor, max_samples and Wilson fallback otherwise."""
    from ratio_asn import _import_path
    from ratio_exact import module_rule

    if _import_path() not in sys.path:
        sys.path.insert(0, _import_path())
    sides, floor, top, truncate, _verdict = module_rule(p0, tolerance, alpha, beta)
    today = (sides[0].upper, sides[0].lower)
    sides = [exact.SideSpec(s.inc_hit, s.inc_miss, s.upper if upper is None else upper,
                            s.lower if lower is None else lower, s.p1) for s in sides]
    ok = exact.sprt_pair_oc(sides, p0, floor, top, truncate)
    misses = [exact.sprt_pair_oc(sides, p, floor, top, truncate)[1] for p in (p0 + tolerance, p0 - tolerance)
              if 0.0 < p < 1.0]
    return ok[0], max(misses), ok[2], today[0], today[1]


def calibrated_pair(p0, tolerance, alpha, beta, share_alpha, steps):
    """The module's pair with both bounds moved, by bisection on the exact OC, until the miss reaches beta and the
    false-fail ``share_alpha``: what spending the slack Ville's inequality leaves would save. Returns
    (upper, lower, false-fail, miss, ASN); the guarantee would then rest on the DP, not on Ville's inequality."""
    today = pair_oc(p0, tolerance, alpha, beta)
    upper, lower = today[3], today[4]
    low, high = lower, lower + 0.5  # raise the accept bound (pass sooner) while the miss stays <= beta
    for _step in range(steps):
        mid = (low + high) / 2.0
        if pair_oc(p0, tolerance, alpha, beta, upper, mid)[1] <= beta:
            low = mid
        else:
            high = mid
    lower = low
    if today[0] < share_alpha:  # lower the reject bound (fail sooner) while the false-fail stays in budget
        low, high = upper - 0.5, upper
        for _step in range(steps):
            mid = (low + high) / 2.0
            if pair_oc(p0, tolerance, alpha, beta, mid, lower)[0] <= share_alpha:
                high = mid
            else:
                low = mid
        upper = high
    return (upper, lower) + pair_oc(p0, tolerance, alpha, beta, upper, lower)[:3]


def worst_miss(policy, p0, tolerance):
    """(largest pass probability, share where) over the grid of shares at least ``tolerance`` from p0."""
    worst = (0.0, None)
    for j in range(GRID + 1):
        for sign in (1, -1):
            p = p0 + sign * tolerance * (1.0 + j / 20.0)
            if 0.0 < p < 1.0:
                worst = max(worst, (exact.policy_oc(policy, p)[1], p))
    return worst


class Search(object):
    """Evaluate weights: keep the best bound and the feasible rule with the fewest samples met so far."""

    def __init__(self, p0, tolerance, alpha, beta, horizon, floor):
        self.p0, self.tolerance, self.alpha, self.beta = p0, tolerance, alpha, beta
        self.horizon, self.floor = horizon, floor
        self.bound, self.rule, self.calls = 0.0, None, 0

    def errors(self, weights):
        """(false-fail, miss at p0 + tol, miss at p0 - tol) of the Lagrangian rule for ``weights``."""
        self.calls += 1
        p0, tol = self.p0, self.tolerance
        value, policy = exact.lagrangian_rule(p0, tol, weights, self.horizon, self.floor)
        self.bound = max(self.bound, value - weights[0] * self.alpha - (weights[1] + weights[2]) * self.beta)
        ok = exact.policy_oc(policy, p0)
        high = exact.policy_oc(policy, p0 + tol)
        low = exact.policy_oc(policy, p0 - tol) if p0 - tol > 0 else (0.0, 0.0, 0.0)
        errors = (ok[0], high[1], low[1])
        if errors[0] <= self.alpha and errors[1] <= self.beta and errors[2] <= self.beta:
            if self.rule is None or ok[2] < self.rule[0]:
                self.rule = (ok[2], errors, list(weights), policy)
        return errors


def search(p0, tolerance, alpha, beta, horizon, weights, steps, floor, rounds=2):
    """Coordinate-wise: per weight, bisect (``steps`` evaluations, in log scale within a factor 4) for the smallest
    value whose own constraint still holds (a larger weight on an error lowers that error), ``rounds`` times."""
    state = Search(p0, tolerance, alpha, beta, horizon, floor)
    weights = list(weights)
    targets = (alpha, beta, beta)
    symmetric = abs(p0 - 0.5) < 1e-12
    coords = (0, 1) if symmetric else (0, 1, 2)
    for _round in range(rounds):
        for i in coords:
            low, high = weights[i] / 4.0, weights[i] * 4.0
            for _step in range(steps):
                mid = (low * high) ** 0.5
                trial = list(weights)
                trial[i] = mid
                if symmetric and i == 1:
                    trial[2] = mid
                if state.errors(trial)[i] <= targets[i]:
                    high = mid
                else:
                    low = mid
            weights[i] = high
            if symmetric and i == 1:
                weights[2] = high
    state.errors(weights)
    return state.bound, state.rule


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--beta", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=7, help="bisection steps per weight and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pass-floor", type=int, default=178)
    parser.add_argument("--calibrate", type=int, default=0, metavar="STEPS",
                        help="also the module's pair with its two bounds calibrated on the exact OC, STEPS bisection "
                             "steps per bound (7: a few minutes); 0, the default, skips it")
    parser.add_argument("--dump", help="write the best rules as JSON: p0 -> [[n, [[first k, last k, action]...]]...]")
    args = parser.parse_args()
    dump = {}
    share_alpha = 2.0 * args.alpha / 3.0
    tol, beta = args.tolerance, args.beta
    print("Two-sided rules at tolerance {0:g}, false-fail <= {1:.5f} (2 alpha / 3), miss <= {2:g}, pass floor {3}, "
          "{4} x {5} bisection steps per weight".format(tol, share_alpha, beta, args.pass_floor, args.rounds, args.steps))
    head = ("p0", "ASN today (pair)", "best rule ASN", "its false-fail", "miss -tol", "miss +tol", "worst miss tol..3 tol",
            "at share", "lower bound (two-sided)", "wald(a/2) one-sided", "wald(2a/3) one-sided", "weights",
            "sec")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p0, horizon, weights in CASES:
        started = time.time()
        bound, rule = search(p0, tol, share_alpha, beta, horizon, weights, args.steps, args.pass_floor, args.rounds)
        wald_half = exact.harder_side_bound(p0, tol, args.alpha / 2.0, beta)
        wald_any = exact.harder_side_bound(p0, tol, share_alpha, beta)
        if rule is not None:
            dump["{0:g}".format(p0)] = dict(asn=rule[0], errors=rule[1], weights=rule[2],
                                            table=exact.policy_boundaries(rule[3]))
        if rule is None:
            cells = ["none found", "-", "-", "-", "-", "-", "-"]
        else:
            policy = rule[3]
            worst = worst_miss(policy, p0, tol)
            cells = ["{0:.1f}".format(rule[0]), "{0:.6f}".format(rule[1][0]), "{0:.6f}".format(rule[1][2]),
                     "{0:.6f}".format(rule[1][1]), "{0:.6f}".format(worst[0]), "{0:.4f}".format(worst[1]),
                     "/".join("{0:.0f}".format(w) for w in rule[2])]
        row = ["{0:g}".format(p0), "{0:.1f}".format(pair_oc(p0, tol, args.alpha, beta)[2])] + cells[:6] + [
            "{0:.1f}".format(bound), "{0:.1f}".format(wald_half), "{0:.1f}".format(wald_any), cells[6],
            "{0:.0f}".format(time.time() - started)]
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()
    if args.calibrate:
        table_calibrated(tol, args.alpha, beta, share_alpha, args.calibrate)
    if args.dump:
        with open(args.dump, "w") as handle:
            json.dump(dump, handle)


def table_calibrated(tol, alpha, beta, share_alpha, steps):
    print()
    print("The module's pair with its bounds (ln LR to reject / to accept, same on both sides) calibrated on the exact "
          "OC: false-fail <= {0:.5f}, miss <= {1:g}, {2} bisection steps per bound".format(share_alpha, beta, steps))
    head = ("p0", "bounds today", "false-fail", "miss", "ASN today", "bounds calibrated", "false-fail", "miss", "ASN",
            "saved", "sec")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p0, _horizon, _weights in CASES:
        started = time.time()
        today = pair_oc(p0, tol, alpha, beta)
        cal = calibrated_pair(p0, tol, alpha, beta, share_alpha, steps)
        row = ("{0:g}".format(p0), "{0:.3f} / {1:.3f}".format(today[3], today[4]),
               "{0:.6f}".format(today[0]), "{0:.6f}".format(today[1]), "{0:.1f}".format(today[2]),
               "{0:.3f} / {1:.3f}".format(cal[0], cal[1]), "{0:.6f}".format(cal[2]), "{0:.6f}".format(cal[3]),
               "{0:.1f}".format(cal[4]), "{0:.1%}".format(1.0 - cal[4] / today[2]), "{0:.0f}".format(time.time() - started))
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
