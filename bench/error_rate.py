"""Print the operating figures of traffic_ratio's error-rate test, by seeded simulation.

For each scenario (split, tolerance, alpha, beta, max_error_rate and error_rate_margin) and each true error rate:
the share of correctly routed stages that fail (false failures while the error rate is at most max_error_rate -
margin, detection once it is max_error_rate or more), how many of them failed by the error-rate rule, the average
number of lines and samples per stage, and how many stages were decided at max_samples. Every line is an error
with the true error rate, otherwise a sample drawn with the expected split.

    python bench/error_rate.py                 # 2,000 stages per row
    python bench/error_rate.py --stages 500    # quicker
"""

import argparse
import random
import sys
import time

from ratio_asn import _import_path, module_verdict

SCENARIOS = [
    # label, expected, tolerance, alpha, beta, max_error_rate, margin (None: the default, half the limit)
    ("0/100 defaults", {"1": 0, "2": 100}, 0.05, 0.01, 0.01, 0.05, None),
    ("90/10 defaults", {"1": 90, "2": 10}, 0.05, 0.01, 0.01, 0.05, None),
    ("90/10 role (tol 0.1, beta 0.05)", {"1": 90, "2": 10}, 0.10, 0.01, 0.05, 0.05, None),
]
RATES = (0.0, 0.01, 0.02, 0.025, 0.03, 0.034, 0.04, 0.045, 0.05, 0.06, 0.08)


def stage(rnd, expected, error_rate, tol, alpha, beta, limit, margin, max_samples):
    verdict = module_verdict(expected, tolerance=tol, alpha=alpha, beta=beta, max_error_rate=limit,
                             error_rate_margin=margin, max_samples=max_samples)
    share = verdict.expected.get("2", 0.0)
    while verdict.decision() is None and not verdict.full():
        if rnd.random() < error_rate:
            verdict.add_error()
        else:
            verdict.add("2" if rnd.random() < share else "1")
    decision, method, _reason = verdict.finish("in simulation", "max_samples")
    return decision, method, verdict.n, verdict.n + verdict.errors, verdict.decision() is None, verdict


def main():
    sys.path.insert(0, _import_path())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--max-samples", type=int, default=5000)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    print("traffic_ratio error-rate test, {0} correctly routed stages per row, seed {1}, max_samples {2}".format(
        args.stages, args.seed, args.max_samples))
    for label, expected, tol, alpha, beta, limit, margin in SCENARIOS:
        probe = stage(rnd, expected, 0.0, tol, alpha, beta, limit, margin, args.max_samples)[5]
        e0 = limit - probe.error_rate_margin
        print("\n{0}: alpha {1:g} (error-rate test at alpha' {2:.4g}), beta {3:g}, max_error_rate {4:g}, margin "
              "{5:g} -> H0 {6:g}".format(label, alpha, probe.errors_test.alpha, beta, limit,
                                         probe.error_rate_margin, e0))
        head = ("true error rate", "zone", "fail", "by error-rate", "bound", "lines avg", "samples avg",
                "truncated", "sec")
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for rate in RATES:
            started = time.time()
            runs = [stage(rnd, expected, rate, tol, alpha, beta, limit, margin, args.max_samples)
                    for _i in range(args.stages)]
            fail = sum(r[0] == "fail" for r in runs) / len(runs)
            by_rule = sum(r[1] == "error-rate" for r in runs) / len(runs)
            if rate <= e0 + 1e-12:
                zone, bound = "H0 (pass)", "fail <= alpha {0:g}".format(alpha)
            elif rate >= limit - 1e-12:
                zone, bound = "H1 (fail)", "fail >= 1 - beta {0:g}".format(1 - beta)
            else:
                zone, bound = "indifference", "-"
            row = ("{0:g}".format(rate), zone, "{0:.4f}".format(fail), "{0:.4f}".format(by_rule), bound,
                   "{0:.0f}".format(sum(r[3] for r in runs) / len(runs)),
                   "{0:.0f}".format(sum(r[2] for r in runs) / len(runs)),
                   str(sum(r[4] for r in runs)), "{0:.1f}".format(time.time() - started))
            print("| " + " | ".join(row) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
