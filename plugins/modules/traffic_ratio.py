#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: traffic_ratio
short_description: Measure the traffic split that real requests took, and decide whether it matches the weights
version_added: 0.1.0
author:
  - meshlab.canary maintainers (@meshlab)
description:
  - Counts which backend version answered each request seen by the client pods, and decides with declared error
    rates whether the observed split matches the O(expected) weights. Read-only; never reports C(changed).
  - With O(source=logs) (default) it reads the container logs of B(every) pod that matches O(selector)
    concurrently (unlike M(kubernetes.core.k8s_log), which reads only the first pod). Only lines logged after a
    boundary count. The boundary is the newest log timestamp present in any matching pod when the module starts,
    plus O(settle_seconds). Log timestamps come from the nodes, so clock skew between the controller and the cluster
    does not matter. In addition, lines older than the module start plus O(settle_seconds) are never read (the
    log requests use C(sinceSeconds), which the kubelet applies against its own clock, to within a second), so
    pods that were quiet before the start do not shorten the settle window. Pods that appear later are included.
  - "B(Restarts.) Every poll reads each pod's current log and then its previous instance's log, and merges the two
    by timestamp. A container's instances never overlap in time, so the position of a line (its timestamp and its
    rank among lines with the same timestamp) tells what was already counted, whichever of the two logs it comes
    from. The pod status (C(containerID), C(restartCount)) is not used for this: the kubelet publishes it later than
    the new instance starts logging. So every line after the boundary is counted once, in any order of the status
    update and the log rotation, and the tail the old instance wrote after the last poll is read from the previous
    log (a leak just before a restart is seen). What can still be lost is listed in the notes."
  - With O(source=probe) it waits O(settle_seconds), then execs into a matching pod (round robin over the running
    pods) and sends O(probe_requests) requests to O(url) in one C(sh -c) loop of C(curl -s), repeated until a
    decision is reached. Use it for fast stages; it needs C(sh) and C(curl) in the container.
  - Each non-blank line is matched with O(pattern). A match is one sample of the version in the named group
    C(version). Blank lines are skipped. Any other line (a failed request, an error page) counts as an error,
    reported separately and judged by the error-rate test below. Lines are counted in time order, and counting stops
    at the decision or at exactly O(max_samples) samples; the rest of that poll is not counted.
  - "B(Statistics.) The weights in O(expected) are normalised to shares p0 = weight / sum of weights."
  - "B(Exact zero.) A version with weight 0, or a version not listed in O(expected), must get no sample at all: one
    sample fails the stage. Passing needs at least n0 = ceil(ln(beta) / ln(1 - tolerance)) samples (90 with the
    defaults) when there is such a version or only one version has weight, so that a leak of O(tolerance) or more
    would have been seen with probability at least 1 - O(beta)."
  - "B(Sequential test.) For each tested version two one-sided sequential probability ratio tests (SPRT, Wald)
    run on the stream of samples: H0 p = p0 against H1 p = p0 + tolerance, and H0 p = p0 against H1 p = p0 -
    tolerance (a side is skipped when p0 +/- tolerance falls outside (0, 1)). Each test rejects H0 when its log
    likelihood ratio reaches ln(1 / alpha') and accepts H0 when it falls to ln(beta), with alpha' = O(alpha) / k
    and k = 2 m + 1 (Bonferroni over the two sides of the m tested versions and the error-rate test; 2 m when
    O(max_error_rate) is 0 or 1). With two versions only one is tested (m = 1), because the shares are
    complementary; with three or more every version with weight above zero is tested. The stage passes when every
    side and the error-rate test have accepted H0 and at least O(min_samples) samples were counted; it fails as
    soon as any of them rejects H0. These bounds (rather than Wald's approximations) make the guarantees exact by
    Ville's inequality: a correctly routed stage whose error rate is at most O(max_error_rate) - O(error_rate_margin)
    fails with probability at most O(alpha), and a stage whose share is off by O(tolerance) or more passes with
    probability at most O(beta), whenever the tests reach a decision."
  - "B(Error-rate test.) A one-sided SPRT on every counted line (an error line is a hit) of H0 error rate e0 =
    O(max_error_rate) - O(error_rate_margin) against H1 error rate O(max_error_rate), at alpha' and O(beta) as
    above. A stage whose error rate is e0 or less fails by it with probability at most alpha'; one whose error rate
    is O(max_error_rate) or more passes with probability at most O(beta). Between the two (the indifference zone)
    either can happen. With the defaults (limit 0.05, margin 0.025, 90/10) no error line needs about 180 lines,
    an error rate of 0.025 about 580 (C(bench/error_rate.py) prints measured figures). O(max_error_rate=0) fails at
    the first error line; O(max_error_rate=1) switches the rule off. At truncation an open error-rate test is
    decided by the Wilson interval of the error rate: fail when O(max_error_rate) lies below the interval at
    1 - 2 alpha', pass when the interval at 1 - O(beta) lies below O(max_error_rate), otherwise fail as
    inconclusive. With O(test=presence) the error-rate test only fails a stage on evidence (it rejects H0); it does
    not hold a pass back."
  - "B(Truncation.) If O(max_samples) samples are reached, or O(timeout) with at least the required samples, while
    a sequential test is still open, the module decides by Wilson score intervals and says so (RV(method=wilson)):
    it fails when p0 lies outside the interval at confidence 1 - 2 alpha' (evidence of misrouting); it passes
    only when the interval at confidence 1 - O(beta) (an equivalence test with each tail O(beta) / 2) lies within
    p0 +/- O(tolerance) on every open side, so a misrouted split still rarely passes (simulated miss rate 0.010 at
    O(beta=0.01), 90/10, with only 600 samples); otherwise it fails as inconclusive and asks for more samples. The
    price of too few samples is therefore failed stages, not passed misroutes. With fewer than the required samples
    at O(timeout) the stage fails for too few samples."
  - "B(Presence test.) With O(test=presence) no share is tested: the module passes as soon as at least
    O(min_samples) samples were counted and every version with weight above zero has answered at least once, and
    fails (RV(method=presence)) when O(max_samples) or O(timeout) is reached without that. Versions with weight 0
    still follow the exact-zero rule. Use it where no split exists and the load balancer's distribution is not
    specified (NGINX Service Mesh balances with least_time before a TrafficSplit exists), to check only that every
    version answers; O(tolerance), O(alpha) and O(beta) then only size the reported intervals and the exact-zero rule."
  - Reported intervals are Wilson score intervals at confidence 1 - O(alpha) / k, Bonferroni-adjusted over the k
    versions reported.
  - "B(Defaults.) O(tolerance=0.05), O(alpha=0.01) and O(beta=0.01) follow the Gateway API weight conformance test
    (each share within 0.05) with strict error rates. Measured by seeded simulation (C(bench/ratio_asn.py), 2,000
    correct and 2,000 off-by-tolerance stages each), the test then needs on average about 490 samples at a 90/10
    split, 860 at 80/20 and 1320 at 50/50, about half of the fixed-size binomial test with the same guarantees
    (1053, 1686 and 2433 samples). O(min_samples=100) covers the exact-zero rule (90 samples). O(max_samples=5000)
    lies above the 99th percentile of the sample count in the hardest case (50/50, about 3200), so the Wilson
    fallback is rare. O(timeout=600) allows 10 minutes; the tutorial's frontend sends one request per second per
    pod, too slow for the strict defaults, so use O(source=probe) or loosen to O(tolerance=0.1) and O(beta=0.05)
    (about 130 samples at 90/10). O(settle_seconds=10) covers the few seconds the mesh needs to push new weights to
    the sidecars. O(max_error_rate=0.05) with its margin 0.025 tolerates occasional failed requests but fails a stage
    in which the new version visibly errors; measured (C(bench/error_rate.py), 2,000 correctly routed 90/10 stages
    per rate) a stage fails at an error rate of 0.025 in 1.0 % of the stages, at 0.034 in 21 %, at 0.04 in 78 %
    and at 0.05 in 99 %."
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshlab.canary._attributes
  - meshlab.canary._attributes.info_module
  - meshlab.canary._attributes.actiongroup_k8s
options:
  namespace:
    description:
      - Namespace of the client pods.
    type: str
    default: default
  selector:
    description:
      - Label selector of the client pods, for example V(app=frontend) or V(app=frontend,tier=web).
    type: str
    default: app=frontend
  container:
    description:
      - Container of the client pods whose output is read (O(source=logs)) or in which requests are sent
        (O(source=probe)).
    type: str
    default: frontend
  source:
    description:
      - Where samples come from.
      - V(logs) reads the container logs of all matching pods.
      - V(probe) sends O(probe_requests) requests per round from inside a matching pod.
    type: str
    choices: [logs, probe]
    default: logs
  expected:
    description:
      - 'Expected weights per version, for example C({"1": 90, "2": 10}). Normalised to shares.'
      - Weights must be whole numbers or decimals C(>= 0), not all zero.
    type: dict
    required: true
  test:
    description:
      - V(split) tests the shares against O(expected) (sequential test, exact zero, see the notes).
      - V(presence) only requires every version with weight above zero to answer at least once among at least
        O(min_samples) samples (and versions with weight 0 to stay at zero), for traffic that has no defined split.
    type: str
    choices: [split, presence]
    default: split
  pattern:
    description:
      - Python regular expression with a named group C(version), searched in each log line or response.
      - The default matches C("version":"N") in the tutorial's JSON responses.
    type: str
    default: '"version"\s*:\s*"(?P<version>[^"]+)"'
  tolerance:
    description:
      - Smallest deviation of a share (absolute, as a fraction) that must be detected.
    type: float
    default: 0.05
  alpha:
    description:
      - Chance of failing a correctly routed stage (family-wise over versions).
    type: float
    default: 0.01
  beta:
    description:
      - Chance of passing a stage whose share is off by O(tolerance) or more.
    type: float
    default: 0.01
  min_samples:
    description:
      - Fewest samples before a stage may pass.
    type: int
    default: 100
  max_samples:
    description:
      - Most samples to collect; at this number an undecided sequential test is decided by the confidence interval.
    type: int
    default: 5000
  timeout:
    description:
      - Seconds to collect samples, counted from the module start and including O(settle_seconds).
    type: int
    default: 600
  settle_seconds:
    description:
      - Seconds after the boundary (the newest log line at module start, or the module start for O(source=probe))
        before samples count, so that the new weights have reached the data plane.
    type: int
    default: 10
  max_error_rate:
    description:
      - Error rate (error lines among all counted lines, errors plus samples) that a stage must not reach. A stage
        whose error rate is O(max_error_rate) or more passes with probability at most O(beta).
      - V(0) fails a stage at its first error line; V(1) never fails a stage for errors.
    type: float
    default: 0.05
  error_rate_margin:
    description:
      - Width of the error-rate test's indifference zone below O(max_error_rate). A stage whose error rate is at most
        O(max_error_rate) - O(error_rate_margin) fails by the error-rate test with probability at most alpha' (see
        the notes); between that rate and O(max_error_rate) it may pass or fail. A narrower margin needs more lines.
      - Must lie in (0, O(max_error_rate)). The default is half of O(max_error_rate) (0.025 for 0.05).
      - Ignored when O(max_error_rate) is 0 or 1.
    type: float
  poll_interval:
    description:
      - Seconds between two reads of the logs (O(source=logs)).
    type: int
    default: 5
  url:
    description:
      - URL requested by O(source=probe).
    type: str
    default: http://backend-svc/
  probe_requests:
    description:
      - Requests per C(exec) round for O(source=probe).
    type: int
    default: 100
  probe_request_timeout:
    description:
      - Seconds C(curl) may take for one request (C(--max-time)) with O(source=probe).
    type: int
    default: 5
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - A rejected split, too many errors or too few samples fail the task, with the same return values as a success,
    so that a C(rescue) block can record them from C(ansible_failed_result).
  - Nothing is written to the cluster. O(source=probe) runs C(curl) inside a pod, which sends requests.
  - "With O(source=logs), what can still be lost: the lines a pod logged after the last poll when the pod is gone
    (deleted, its logs with it) at the next poll, on average half a O(poll_interval) of its output
    (C(bench/ratio_loss.py) measures it); a pod that is still terminating is read as long as it is listed. When a
    container restarted more than once between two polls, only the newest previous instance is readable, so the
    tail of the older one after the last poll is lost. Lines are told apart by their node timestamps, so a node
    clock that steps backwards during a stage can hide lines. Keep O(poll_interval) short where pods churn."
  - With O(source=logs) every poll makes two log requests per pod (current and previous instance), each limited
    with C(sinceSeconds) to the time since the last poll plus 5 s.
seealso:
  - module: meshlab.canary.traffic_split
  - module: kubernetes.core.k8s_log
"""

EXAMPLES = r"""
- name: Check that about 10 % of the frontend's requests reach version 2
  meshlab.canary.traffic_ratio:
    namespace: default
    selector: app=frontend
    container: frontend
    expected:
      "1": 90
      "2": 10
  register: canary_ratio

- name: All traffic must reach version 2, measured with requests sent from a frontend pod
  meshlab.canary.traffic_ratio:
    namespace: default
    source: probe
    url: http://backend-svc/
    probe_requests: 200
    expected:
      "1": 0
      "2": 100

- name: Before any split, every backend version must answer (no share is tested)
  meshlab.canary.traffic_ratio:
    namespace: default
    test: presence
    expected:
      "1": 1
      "2": 1
    min_samples: 20

- name: A quicker, looser check (tolerance 0.1, beta 0.05) for a slow log source
  meshlab.canary.traffic_ratio:
    namespace: default
    expected:
      "1": 20
      "2": 80
    tolerance: 0.1
    beta: 0.05
    timeout: 900
"""

RETURN = r"""
counts:
  description: Samples per version counted after the boundary.
  returned: always
  type: dict
  sample: {"1": 431, "2": 52}
shares:
  description: Observed share per version (count divided by samples).
  returned: always
  type: dict
  sample: {"1": 0.892, "2": 0.108}
intervals:
  description: Wilson score interval per version, C([low, high]), Bonferroni-adjusted over the versions reported.
  returned: always
  type: dict
  sample: {"1": [0.85, 0.925], "2": [0.075, 0.15]}
errors:
  description: Number of non-blank lines that did not match O(pattern).
  returned: always
  type: int
  sample: 0
error_rate:
  description: Errors divided by errors plus samples.
  returned: always
  type: float
  sample: 0.0
error_examples:
  description: Up to five of the lines counted as errors.
  returned: always
  type: list
  elements: str
  sample: ["<html>503 Service Unavailable</html>"]
samples:
  description: Number of samples counted.
  returned: always
  type: int
  sample: 483
duration:
  description: Seconds from module start to the decision.
  returned: always
  type: float
  sample: 61.3
decision:
  description: V(pass) or V(fail).
  returned: always
  type: str
  sample: pass
reason:
  description: One line saying why.
  returned: always
  type: str
  sample: "sequential test accepted 90/10 within 0.05 after 483 samples from 2 pods (v2 share 0.108)"
method:
  description: How the decision was reached, V(sprt), V(exact-zero), V(wilson), V(presence), V(error-rate) or
    V(too-few-samples).
  returned: always
  type: str
  sample: sprt
pods:
  description: Names of the pods whose logs were read (O(source=logs)) or in which the probe ran (O(source=probe)).
  returned: always
  type: list
  elements: str
  sample: ["frontend-6c64d7446-mmgpv"]
boundary:
  description:
    - Samples stamped after this time (RFC 3339, node clock) counted with O(source=logs); V(null) if no line was
      read. For O(source=probe) the end of the settle window (controller clock).
  returned: always
  type: str
  sample: "2026-11-27T18:30:10.123456Z"
expected_shares:
  description: The normalised O(expected) weights.
  returned: always
  type: dict
  sample: {"1": 0.9, "2": 0.1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._kube import (
    auth_argument_spec,
    client_error_message,
    connect,
    redacting_module_class,
)
from ansible_collections.meshlab.canary.plugins.module_utils._ratio_source import measure_ratio


def argument_spec():
    spec = dict(
        namespace=dict(type="str", default="default"),
        selector=dict(type="str", default="app=frontend"),
        container=dict(type="str", default="frontend"),
        source=dict(type="str", choices=["logs", "probe"], default="logs"),
        expected=dict(type="dict", required=True),
        test=dict(type="str", choices=["split", "presence"], default="split"),
        pattern=dict(type="str", default=r'"version"\s*:\s*"(?P<version>[^"]+)"'),
        tolerance=dict(type="float", default=0.05),
        alpha=dict(type="float", default=0.01),
        beta=dict(type="float", default=0.01),
        min_samples=dict(type="int", default=100),
        max_samples=dict(type="int", default=5000),
        timeout=dict(type="int", default=600),
        settle_seconds=dict(type="int", default=10),
        max_error_rate=dict(type="float", default=0.05),
        error_rate_margin=dict(type="float"),
        poll_interval=dict(type="int", default=5),
        url=dict(type="str", default="http://backend-svc/"),
        probe_requests=dict(type="int", default=100),
        probe_request_timeout=dict(type="int", default=5),
    )
    spec.update(auth_argument_spec(AUTH_ARG_SPEC))
    return spec


def main():
    module = AnsibleK8SModule(
        module_class=redacting_module_class(AnsibleModule),
        argument_spec=argument_spec(),
        supports_check_mode=True,
    )
    try:
        result = measure_ratio(connect(module), module.params)
    except CoreException as exc:
        module.fail_json(msg=client_error_message(exc, module.params), changed=False)
    except CanaryError as exc:
        module.fail_json(msg=str(exc), changed=False, **exc.fields)
    if result["decision"] != "pass":
        module.fail_json(msg=result["reason"], changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
