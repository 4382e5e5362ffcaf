"""Print the operating figures of traffic_ratio's decision rule, by seeded simulation.

For each scenario: false-failure rate (correct routing), miss rate (share off by exactly the tolerance, half
the stages above and half below), average samples (ASN) in both cases, the 95th/99th percentile of samples,
how many stages hit max_samples (Wilson fallback) and how many of those failed as inconclusive, and the
fixed-size binomial test with the same alpha/beta. Every false-fail and miss rate comes with its exact
(Clopper-Pearson) 95 % interval, and ASN ok is divided by Wald's lower bound on E_p0[N] for the harder side,
(1 - a') ln((1 - a') / beta) / KL(p0 || p0 +/- tol) with a' = alpha / 2 (the issue's form; bench/exact.py also has
the full form with the + a' ln(a' / (1 - beta)) term, and ratio_exact.py prints the exact figures by DP).
``--max-samples 600`` shows a slow source (about one request per second for the default 600 s timeout).

    python bench/ratio_asn.py                 # 2,000 + 2,000 stages per scenario
    python bench/ratio_asn.py --stages 500    # quicker
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


def main():
    sys.path.insert(0, _import_path())
    from fixed_size import fixed_sample_size  # bench/fixed_size.py, next to this script
    from exact import clopper_pearson, harder_side_bound, wald_bound_issue

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--max-samples", type=int, default=5000)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    print("traffic_ratio decision rule, {0} correct + {0} off-by-tolerance stages per row, seed {1}, "
          "min_samples {2}, max_samples {3}".format(args.stages, args.seed, args.min_samples, args.max_samples))
    head = ("p0", "tol", "alpha", "beta", "false-fail", "95% CP", "miss", "95% CP", "ASN ok", "wald(a/2)", "ASN/wald", "ASN off", "p95 ok", "p99 ok",
            "wilson", "inconclusive", "fixed n", "ASN/fixed", "sec")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for p0, tol, alpha, beta in SCENARIOS:
        started = time.time()
        kw = dict(tol=tol, alpha=alpha, beta=beta, min_samples=args.min_samples, max_samples=args.max_samples)
        ok = [stage(rnd, p0, p0, **kw) for _i in range(args.stages)]
        half = args.stages // 2
        off = [stage(rnd, p0, p0 + tol, **kw) for _i in range(half)]
        if p0 - tol > 0:
            off += [stage(rnd, p0, p0 - tol, **kw) for _i in range(args.stages - half)]
        false_fail = sum(s[0] == "fail" for s in ok) / len(ok)
        miss = sum(s[0] == "pass" for s in off) / len(off)
        asn_ok = sum(s[1] for s in ok) / len(ok)
        asn_off = sum(s[1] for s in off) / len(off)
        wilson = sum(s[2].startswith("wilson") for s in ok + off)
        inconclusive = sum(s[2] == "wilson-inconclusive" for s in ok + off)
        fixed = fixed_sample_size(p0, tol, alpha, beta)
        bound = harder_side_bound(p0, tol, alpha / 2.0, beta, wald_bound_issue)
        ff_ci = clopper_pearson(sum(s[0] == "fail" for s in ok), len(ok))
        miss_ci = clopper_pearson(sum(s[0] == "pass" for s in off), len(off))
        row = ("{0:g}".format(p0), "{0:g}".format(tol), "{0:g}".format(alpha), "{0:g}".format(beta),
               "{0:.4f}".format(false_fail), "[{0:.4f}, {1:.4f}]".format(*ff_ci), "{0:.4f}".format(miss),
               "[{0:.4f}, {1:.4f}]".format(*miss_ci), "{0:.0f}".format(asn_ok), "{0:.1f}".format(bound),
               "{0:.3f}".format(asn_ok / bound),
               "{0:.0f}".format(asn_off), str(pct([s[1] for s in ok], 0.95)), str(pct([s[1] for s in ok], 0.99)),
               str(wilson), str(inconclusive), str(fixed), "{0:.2f}".format(asn_ok / fixed), "{0:.1f}".format(time.time() - started))
        print("| " + " | ".join(row) + " |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
