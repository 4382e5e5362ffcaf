"""Print the operating figures of traffic_ratio_info's decision rule: seeded simulation, exact DP, lower bounds.

Table 1, per scenario: the false-failure rate (correct routing) and the miss rate (share off by exactly the
tolerance, half the stages above and half below) of a seeded simulation of the module's Verdict, each with its
exact (Clopper-Pearson) 95 % interval, next to the same rates computed exactly by dynamic programming over the
binomial walk (bench/exact.py ``sprt_pair_oc``; the exact miss is the same half/half mix, and the worse side is
printed too), and the average sample number (ASN) both ways. ``in CI`` says whether the exact rate lies in the
simulation's interval (it should, in about 95 % of the rows); the simulation checks the DP, the DP is the figure.
Also: the 95th / 99th percentile of N, stages that reached max_samples (Wilson fallback) and how many of those
failed as inconclusive, and the fixed-size binomial test with the same alpha / beta.

Table 2, the exact ASN at p0 against lower bounds on E_p0[N]:

* ``wald(a/2)``: Wald's bound for ONE side at a' = alpha / 2, E0[N] KL(p0 || p1) >= (1 - a') ln((1 - a') / b)
  + a' ln(a' / (1 - b)), the harder side. The issue's reference (418 / 650 / 906); its text drops the second,
  negative term, which makes the figure about 0.6 % higher and no longer a bound. It bounds a rule that spends
  alpha / 2 on each side, not every two-sided rule.
* ``wald(a)``: the same at the whole alpha. A bound for EVERY rule with false-fail <= alpha at p0 and miss <= beta
  at p0 + tol and at p0 - tol: such a rule is, for each side alone, a test of p0 against p0 +/- tol with type I
  error <= alpha and type II error <= beta, so each side's one-sided bound holds, and so does the larger.
* ``two-sided``: a bound for the same class that uses both sides at once (weak duality on the Lagrangian
  E_p0[N] + l0 P_p0(fail) + l+ P_p0+tol(pass) + l- P_p0-tol(pass), minimised over all rules by backward induction,
  bench/exact.py ``best_lagrangian_bound``). Valid for any weights; the search (``--bound-steps``) only tightens
  it. No pass floor, the whole alpha: the module's own constraints (pass floor 178 from the error-rate test,
  2 alpha / 3 on the share) give a higher bound, bench/ratio_twosided.py.

``--max-samples 600`` shows a slow source (about one request per second for the default 600 s timeout).

    python bench/ratio_asn.py                  # 2,000 + 2,000 stages per scenario, about two minutes
    python bench/ratio_asn.py --stages 500 --bound-steps 0   # quicker: bounds at the starting weights
"""

import argparse
import os
import random
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _import_path():
    made = os.path.join(REPO, ".collections")
    if os.path.isdir(os.path.join(made, "ansible_collections", "meshlab", "canary")):
        return made
    root = tempfile.mkdtemp(prefix="meshlab-canary-bench-")
    os.makedirs(os.path.join(root, "ansible_collections", "meshlab"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "meshlab", "canary"))
    return root


SCENARIOS = [
    # p0 (canary share), tolerance, alpha, beta
    (0.10, 0.05, 0.01, 0.01),
    (0.20, 0.05, 0.01, 0.01),
    (0.50, 0.05, 0.01, 0.01),
    (0.10, 0.10, 0.01, 0.05),
    (0.50, 0.10, 0.01, 0.05),
]


def module_verdict(expected, **options):
    """The Verdict traffic_ratio_info builds for ``options``, the module's argument spec filling in the rest."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    from ansible_collections.meshlab.canary.plugins.module_utils._verdict import verdict_from_params
    from ansible_collections.meshlab.canary.plugins.modules.traffic_ratio_info import argument_spec

    result = ArgumentSpecValidator(argument_spec()).validate(dict(options, expected=expected))
    if result.error_messages:
        raise SystemExit("; ".join(result.error_messages))
    return verdict_from_params(result.validated_parameters)


def stage(rnd, p0, share, tol, alpha, beta, min_samples, max_samples):
    canary = int(round(p0 * 1000))
    verdict = module_verdict({"1": 1000 - canary, "2": canary}, tolerance=tol, alpha=alpha, beta=beta,
                             min_samples=min_samples, max_samples=max_samples)
    while verdict.decision() is None and not verdict.full():
        verdict.add("2" if rnd.random() < share else "1")
    decision, method, reason = verdict.finish("in simulation", "max_samples")
    return decision, verdict.n, method + ("-inconclusive" if "inconclusive" in reason else "")


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def exact_row(p0, tol, alpha, beta, min_samples, max_samples):
    """Exact (false-fail, miss mixed as in the simulation, worse side's miss, ASN ok, ASN off) of the module's rule."""
    from exact import sprt_pair_oc
    from ratio_exact import module_rule

    sides, floor, top, truncate, _verdict = module_rule(p0, tol, alpha, beta, min_samples=min_samples,
                                                        max_samples=max_samples)
    ok = sprt_pair_oc(sides, p0, floor, top, truncate)
    offs = [sprt_pair_oc(sides, p, floor, top, truncate) for p in (p0 + tol, p0 - tol) if p > 0.0]
    miss = sum(o[1] for o in offs) / len(offs)
    return ok[0], miss, max(o[1] for o in offs), ok[2], sum(o[2] for o in offs) / len(offs), ok[5]


def main():
    sys.path.insert(0, _import_path())
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fixed_size import fixed_sample_size  # bench/fixed_size.py, next to this script
    from exact import best_lagrangian_bound, clopper_pearson, harder_side_bound, lagrangian_bound, wald_bound

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--max-samples", type=int, default=5000)
    parser.add_argument("--bound-steps", type=int, default=4,
                        help="golden-section steps per weight for the two-sided bound (0: the starting weights)")
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    print("Table 1: traffic_ratio_info's decision rule, {0} correct + {0} off-by-tolerance stages per row, seed {1}, "
          "min_samples {2}, max_samples {3}; 95 % intervals are Clopper-Pearson (exact binomial); "
          "exact = DP over the binomial walk".format(args.stages, args.seed, args.min_samples, args.max_samples))
    head = ("p0", "tol", "alpha", "beta", "false-fail sim", "95% CP", "exact", "in CI", "miss sim", "95% CP",
            "exact", "in CI", "exact worse side", "ASN ok sim", "+/- 2 se", "exact", "ASN off sim", "+/- 2 se", "exact",
            "p95 ok", "p99 ok", "wilson", "inconclusive", "fixed n", "ASN/fixed", "sec")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    rows = []
    for p0, tol, alpha, beta in SCENARIOS:
        started = time.time()
        kw = dict(tol=tol, alpha=alpha, beta=beta, min_samples=args.min_samples, max_samples=args.max_samples)
        ok = [stage(rnd, p0, p0, **kw) for _i in range(args.stages)]
        half = args.stages // 2
        off = [stage(rnd, p0, p0 + tol, **kw) for _i in range(half)]
        if p0 - tol > 0:
            off += [stage(rnd, p0, p0 - tol, **kw) for _i in range(args.stages - half)]
        fails = sum(s[0] == "fail" for s in ok)
        misses = sum(s[0] == "pass" for s in off)
        asn_ok = sum(s[1] for s in ok) / len(ok)
        sd_ok = (sum((s[1] - asn_ok) ** 2 for s in ok) / max(1, len(ok) - 1)) ** 0.5
        asn_off = sum(s[1] for s in off) / len(off)
        sd_off = (sum((s[1] - asn_off) ** 2 for s in off) / max(1, len(off) - 1)) ** 0.5
        wilson = sum(s[2].startswith("wilson") for s in ok + off)
        inconclusive = sum(s[2] == "wilson-inconclusive" for s in ok + off)
        fixed = fixed_sample_size(p0, tol, alpha, beta)
        ff_ci = clopper_pearson(fails, len(ok))
        miss_ci = clopper_pearson(misses, len(off))
        ex = exact_row(p0, tol, alpha, beta, args.min_samples, args.max_samples)
        rows.append((p0, tol, alpha, beta, ex))
        row = ("{0:g}".format(p0), "{0:g}".format(tol), "{0:g}".format(alpha), "{0:g}".format(beta),
               "{0:.4f}".format(fails / len(ok)), "[{0:.4f}, {1:.4f}]".format(*ff_ci), "{0:.5f}".format(ex[0]),
               _yes(ff_ci, ex[0]), "{0:.4f}".format(misses / len(off)), "[{0:.4f}, {1:.4f}]".format(*miss_ci),
               "{0:.5f}".format(ex[1]), _yes(miss_ci, ex[1]), "{0:.5f}".format(ex[2]),
               "{0:.1f}".format(asn_ok), "{0:.0f}".format(2.0 * sd_ok / len(ok) ** 0.5), "{0:.1f}".format(ex[3]),
               "{0:.1f}".format(asn_off), "{0:.0f}".format(2.0 * sd_off / len(off) ** 0.5), "{0:.1f}".format(ex[4]),
               str(pct([s[1] for s in ok], 0.95)), str(pct([s[1] for s in ok], 0.99)),
               str(wilson), str(inconclusive), str(fixed), "{0:.2f}".format(ex[3] / fixed),
               "{0:.1f}".format(time.time() - started))
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()
    print()
    print("Table 2: exact ASN at p0 against lower bounds on E_p0[N] (false-fail <= alpha, miss <= beta at p0 +/- tol; "
          "two-sided: {0} golden-section steps per weight)".format(args.bound_steps))
    head = ("p0", "tol", "alpha", "beta", "ASN exact", "wald(a/2) one side", "ASN/wald(a/2)", "wald(a) any rule",
            "two-sided any rule", "ASN/two-sided", "weights l0/l+/l-", "sec")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p0, tol, alpha, beta, ex in rows:
        started = time.time()
        half = harder_side_bound(p0, tol, alpha / 2.0, beta, wald_bound)
        anyrule = harder_side_bound(p0, tol, alpha, beta, wald_bound)
        # search on a horizon of 4 x the one-sided bound, then value the weights found on 7 x (cells beyond the
        # horizon count as a free decision, so a longer one only raises the bound: +0.1 % from 5 x to 7 x)
        bound, weights = best_lagrangian_bound(p0, tol, alpha, beta, max(400, int(4 * anyrule)),
                                               steps=args.bound_steps, sweeps=1 if args.bound_steps else 0)
        bound = max(bound, lagrangian_bound(p0, tol, alpha, beta, weights, max(700, int(7 * anyrule))))
        row = ("{0:g}".format(p0), "{0:g}".format(tol), "{0:g}".format(alpha), "{0:g}".format(beta),
               "{0:.1f}".format(ex[3]), "{0:.1f}".format(half), "{0:.3f}".format(ex[3] / half),
               "{0:.1f}".format(anyrule), "{0:.1f}".format(bound), "{0:.3f}".format(ex[3] / bound),
               "/".join("{0:.0f}".format(w) for w in weights), "{0:.1f}".format(time.time() - started))
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()


def _yes(interval, value):
    return "yes" if interval[0] <= value <= interval[1] else "NO"


if __name__ == "__main__":
    main()
