"""Benchmark (issue 14): does the live progress slow a stage down? Prints figures, asserts nothing about time.

One stage (90/10, 1000 samples) measured with the progress lines on (``progress_interval`` 10 s, the default,
and 2 s) and off (0: one module call), for the ``logs`` and the ``probe`` source, alternating, ``REPS`` times
each. For every run: the stage's wall time in the play (``duration``: traffic_split write, measurement, record),
the measurement's own time (``measure_duration``) and the rounds. Not collected by the e2e suite (not test_*.py);
run it by name inside the local cluster:

    tests/cluster/localcluster run -- bash -c 'export PATH=$PWD/.venv/bin:$PATH MESHLAB_E2E_REQUIRE_CLUSTER=1;
        python -m pytest -s tests/e2e/bench_progress_overhead.py'
"""

import os
import statistics

REPS = int(os.environ.get("BENCH_REPS", "3"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "1000"))


def test_progress_overhead(clean):
    rows = []
    for rep in range(REPS):
        for source in ("logs", "probe"):
            for interval in (0, 10, 2):
                clean.delete_split()
                name = "bench-progress-{0}-{1}-{2}".format(source, interval, rep)
                proc, report = clean.run_canary(name, [10], source=source, canary_ratio_min_samples=SAMPLES,
                                                canary_ratio_max_samples=max(SAMPLES, 5000),
                                                canary_ratio_progress_interval=interval)
                assert proc.returncode == 0 and report, proc.stdout[-3000:]
                stage = report["stages"][0]
                rows.append((source, interval, stage["duration"], stage["measure_duration"], stage["rounds"],
                             stage["samples"]))
    print("\n| source | progress_interval | runs | stage wall time mean (s) | measurement mean (s) | rounds mean "
          "| samples mean | overhead vs 0 (stage) |")
    print("|---|---|---|---|---|---|---|---|")
    for source in ("logs", "probe"):
        base = statistics.mean(r[2] for r in rows if r[0] == source and r[1] == 0)
        for interval in (0, 10, 2):
            mine = [r for r in rows if r[0] == source and r[1] == interval]
            wall = statistics.mean(r[2] for r in mine)
            print("| {0} | {1} | {2} | {3:.1f} | {4:.1f} | {5:.1f} | {6:.0f} | {7:+.1%} |".format(
                source, interval, len(mine), wall, statistics.mean(r[3] for r in mine),
                statistics.mean(r[4] for r in mine), statistics.mean(r[5] for r in mine), wall / base - 1))
    print("raw (source, progress_interval, stage s, measure s, rounds, samples):")
    for row in rows:
        print("  {0}".format(row))
