"""Measure what traffic_ratio (source=logs) still loses: the lines of a pod deleted between two polls.

Simulated cluster (the unit tests' fake kubelet: sinceSeconds, previous, timestamps) with two client pods
logging one line every ``--period`` seconds; one of them is deleted (its logs with it) at a random moment of the
stage; a restart with a late status is simulated too, to show it loses nothing. The presence test with a huge
min_samples keeps every stage running to its timeout, so the counts are all lines read. For each poll interval: the lines
the deleted pod wrote after the boundary, how many the module counted, and the loss (mean, max, in seconds of the
pod's output), next to the expectation poll_interval / 2.

    python bench/ratio_loss.py              # 300 stages per poll interval
    python bench/ratio_loss.py --stages 50
"""

import argparse
import os
import random
import sys

from ratio_asn import REPO, _import_path


def make_generator(rnd, period, start, victim, event_at, scenario):
    """Every pod logs one line per ``period``; at ``event_at`` the victim is deleted or restarts (status 1.5 s late)."""
    state = {"done": False}
    line = '{{"name":"backend","version":"{0}"}}'

    def generate(cluster, from_t, to_t):
        for pod in list(cluster.pods.values()):
            t = getattr(pod, "next_t", start + rnd.random() * period)
            while t <= to_t:
                if pod is victim and not state["done"] and t >= event_at:
                    state["done"] = True
                    if scenario == "deleted":
                        del cluster.pods[pod.name]
                        break
                    pod.status_restarts = len(pod.instances) - 1
                    pod.restart()
                pod.log(cluster.clock.node_ns(t), line.format("a" if pod is victim else "b"))
                t += period
            pod.next_t = t
            if state["done"] and scenario != "deleted" and to_t >= event_at + 1.5:
                pod.status_restarts = None
    return generate


def main():
    sys.path.insert(0, _import_path())
    sys.path.insert(0, os.path.join(REPO, "tests", "unit", "plugins", "module_utils"))
    from fake_cluster import FakeClock, FakeLogCluster, LogPod
    from ansible_collections.meshlab.canary.plugins.module_utils._ratio_source import measure_ratio

    class Cluster(FakeLogCluster):
        def read_log(self, name, *args, **kwargs):
            self._advance()
            if name not in self.pods:  # the pod is gone: the API answers 404, read as no lines
                return ""
            return FakeLogCluster.read_log(self, name, *args, **kwargs)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=300)
    parser.add_argument("--period", type=float, default=0.02, help="seconds between two lines of a pod")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    print("traffic_ratio source=logs, a pod deleted at a random moment, {0} stages per row, one line per {1} s, "
          "seed {2}".format(args.stages, args.period, args.seed))
    head = ("poll_interval", "scenario", "lines of the pod", "counted", "lost mean", "lost max", "lost mean (s)",
            "expected (s)", "other pods exact")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for poll in (1, 2, 5):
        for scenario in ("deleted", "restart, status 1.5 s late"):
            lost, written, exact = [], [], 0
            for _stage in range(args.stages):
                clock = FakeClock()
                start = clock.t
                victim, other = LogPod("frontend-a"), LogPod("frontend-b")
                generate = make_generator(rnd, args.period, start, victim, start + 5 + rnd.random() * 10, scenario)
                cluster = Cluster(clock, [victim, other], generate)
                params = dict(namespace="default", selector="app=frontend", container="frontend", source="logs",
                              expected={"a": 50, "b": 50}, test="presence", pattern=r'"version"\s*:\s*"(?P<version>[^"]+)"',
                              tolerance=0.05, alpha=0.01, beta=0.01, min_samples=10 ** 6, max_samples=10 ** 6,
                              timeout=20, settle_seconds=1, max_error_rate=0.05, poll_interval=poll)
                result = measure_ratio(cluster, params, clock=clock.monotonic, sleep=clock.sleep)
                cut = clock.node_ns(start + 1)
                mine = sum(1 for inst in victim.instances for ts, _text in inst if ts > cut)
                theirs = sum(1 for inst in other.instances for ts, _text in inst if cut < ts <= clock.node_ns())
                written.append(mine)
                lost.append(mine - result["counts"].get("a", 0))
                exact += result["counts"].get("b", 0) == theirs
            mean = sum(lost) / len(lost)
            row = (str(poll), scenario, "{0:.0f}".format(sum(written) / len(written)),
                   "{0:.0f}".format(sum(written) / len(written) - mean), "{0:.1f}".format(mean), str(max(lost)),
                   "{0:.2f}".format(mean * args.period), "{0:.2f}".format(poll / 2.0 if scenario == "deleted" else 0),
                   "{0}/{1}".format(exact, args.stages))
            print("| " + " | ".join(row) + " |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
