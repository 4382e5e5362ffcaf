#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: traffic_ratio_info
short_description: Measure the traffic split that real requests took, and report whether it matches the weights
version_added: 0.2.0
author:
  - meshlab.canary maintainers (@meshlab)
description:
  - Counts which backend version answered each request seen by the client pods, and decides with declared error
    rates whether the observed split matches the O(expected) weights. Read-only; never reports C(changed).
  - "Reports the verdict in RV(decision) and does not fail on it; the play decides, for example with
    C(failed_when: result.decision != 'pass'). The task fails only when it cannot measure (bad input, cluster
    unreachable, no matching pods, a probe that cannot run)."
  - While it measures, a progress line is printed every O(progress_interval) seconds (samples, shares with
    intervals, errors, the state of each sequential test, time left); the module runs in rounds of that length
    and resumes from the counts of the round before, so the decision is the same as in one call.
  - This module was called C(meshlab.canary.traffic_ratio) before 0.2.0, which failed the task on a rejected
    verdict; that name still works, is deprecated, and now reports without failing.
  - With O(source=logs) it reads the container logs of B(every) pod that matches O(selector) concurrently (unlike
    M(kubernetes.core.k8s_log), which reads only the first pod). The samples are exactly the lines logged after a
    boundary, RV(boundary), which is module start plus O(settle_seconds) on the nodes' clocks (estimated from the newest
    line the first read returns and the time elapsed, so controller clock skew does not matter; it can be early
    by that line's age), and never before the newest log line at module start plus O(settle_seconds). Pods that
    appear later are included, and every line is counted once, also across container restarts.
  - With O(source=probe) it waits O(settle_seconds), then execs into a running matching pod (round robin) and sends
    O(probe_requests) requests to O(url) per round in one C(sh -c) loop of C(curl -s), until a decision is reached.
    Use it for fast stages; it needs C(sh) and C(curl) in the container.
  - Each non-blank line is matched with O(pattern). A match is one sample of the version in the named group
    C(version); any other line (a failed request, an error page) is an error. Lines are counted in time order,
    and counting stops at the decision or at exactly O(max_samples) samples.
  - With O(test=split) a version with weight 0 (or not in O(expected)) must get no sample, the shares of the
    others are tested sequentially against O(expected) +/- O(tolerance) (a correct stage fails with probability
    at most O(alpha), a stage off by O(tolerance) or more passes with probability at most O(beta)), and the error
    rate is tested against O(max_error_rate). With O(test=presence) every version with weight must answer at least
    once. RV(method) says how the decision was reached.
  - The decision rule, its guarantees, the truncation fallback and the sample counts the defaults need are in
    R(How traffic_ratio decides a stage,ansible_collections.meshlab.canary.docsite.traffic_ratio_statistics).
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
      - V(split) tests the shares against O(expected) (sequential test, exact zero; see the description).
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
      - Seconds after the module start (and, with O(source=logs), after the newest log line at module start) before
        samples count, so that the new weights have reached the data plane; see RV(boundary).
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
        O(max_error_rate) - O(error_rate_margin) fails by the error-rate test with probability at most alpha'
        (O(alpha) shared by the tests that can fail a correct stage, see the statistics guide); between that rate and
        O(max_error_rate) it may pass or fail. A narrower margin needs more lines.
      - Must lie in (0, O(max_error_rate)). When not given, half of O(max_error_rate).
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
  progress_interval:
    description:
      - Seconds between two progress lines. The measurement runs in rounds that end at the last poll
        (O(source=logs)) or request batch (O(source=probe)) that fits in this time; a batch that takes longer
        makes its round longer.
      - V(0) measures in one call and prints nothing until the decision.
    type: int
    default: 10
  resume:
    description:
      - Internal, set by the module's action plugin between two rounds; leave it unset.
      - The state of the round before (counts, sequential tests, what was read).
    type: dict
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - A rejected split, too many errors or too few samples do not fail the task; RV(decision) is V(fail) and
    RV(reason) says why.
  - Nothing is written to the cluster. O(source=probe) runs C(curl) inside a pod, which sends requests.
  - "With O(source=logs), what can still be lost: the lines a pod logged after the last poll when the pod is gone
    (deleted, its logs with it) at the next poll, on average half a O(poll_interval) of its output
    (C(bench/ratio_loss.py) measures it); a pod that is still terminating is read as long as it is listed. When a
    container restarted more than once between two polls, only the newest previous instance is readable, so the
    tail of the older one after the last poll is lost. Lines are told apart by their node timestamps, so a node
    clock that steps backwards during a stage can hide lines. Keep O(poll_interval) short where pods churn."
  - With O(source=logs) every poll makes two log requests per pod (current and previous instance), each limited
    with C(sinceSeconds) to the time since the last poll plus 5 s.
  - The progress lines are printed by the controller (the action plugin) on standard error, at the default
    verbosity and with any stdout callback (a machine-readable one such as C(ansible.posix.json) stays parsable).
seealso:
  - module: meshlab.canary.traffic_split
  - module: kubernetes.core.k8s_log
"""

EXAMPLES = r"""
- name: Check that about 10 % of the frontend's requests reach version 2
  meshlab.canary.traffic_ratio_info:
    namespace: default
    selector: app=frontend
    container: frontend
    expected:
      "1": 90
      "2": 10
  register: canary_ratio
  failed_when: canary_ratio.decision != 'pass'

- name: All traffic must reach version 2, measured with requests sent from a frontend pod
  meshlab.canary.traffic_ratio_info:
    namespace: default
    source: probe
    url: http://backend-svc/
    probe_requests: 200
    expected:
      "1": 0
      "2": 100
  register: promoted
  failed_when: promoted.decision != 'pass'

- name: Before any split, every backend version must answer (no share is tested)
  meshlab.canary.traffic_ratio_info:
    namespace: default
    test: presence
    expected:
      "1": 1
      "2": 1
    min_samples: 20

- name: A quicker, looser check (tolerance 0.1, beta 0.05) for a slow log source
  meshlab.canary.traffic_ratio_info:
    namespace: default
    expected:
      "1": 20
      "2": 80
    tolerance: 0.1
    beta: 0.05
    timeout: 900
    progress_interval: 30
  register: loose
  failed_when: loose.decision != 'pass'
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
    - With O(source=logs) the samples are the lines stamped after this time (RFC 3339, node clock), in time order;
      V(null) if no line was read. For O(source=probe) the end of the settle window (controller clock).
  returned: always
  type: str
  sample: "2026-11-27T18:30:10.123456Z"
expected_shares:
  description: The normalised O(expected) weights.
  returned: always
  type: dict
  sample: {"1": 0.9, "2": 0.1}
trace:
  description:
    - What a chart of the measurement needs, bounded in size whatever the number of samples.
    - C(checkpoints) is a list of C([samples, errors, counts]) (counts per version), cumulative, at evenly spaced lines
      (at most 201, the last is the final count); C(expected_shares), C(tolerance), C(confidence) (of
      RV(intervals)); C(decided_at), the samples at the decision (V(null) when the test did not decide);
      C(sprt), per tested version a list of its one-sided sequential tests (C(p0), C(p1), C(lower) and C(upper)
      thresholds of the log-likelihood ratio, C(state) V(accept), V(reject) or V(null), C(n) samples seen,
      C(llr)); C(error_test), the error-rate test in the same form with C(mode) V(sprt), V(zero) or V(off).
  returned: always
  type: dict
  sample:
    checkpoints: [[0, 0, {"1": 0, "2": 0}], [240, 0, {"1": 215, "2": 25}], [483, 0, {"1": 431, "2": 52}]]
    expected_shares: {"1": 0.9, "2": 0.1}
    tolerance: 0.05
    confidence: 0.995
    decided_at: 483
    sprt: {"2": [{"p0": 0.1, "p1": 0.15, "lower": -4.60517, "upper": 6.684612, "state": "accept", "n": 483,
           "llr": -4.7}]}
    error_test: {"mode": "sprt", "p0": 0.025, "p1": 0.05, "lower": -4.60517, "upper": 6.684612, "state": "accept",
                 "n": 483, "llr": -5.1}
rounds:
  description: Number of rounds (module calls) the measurement took; see O(progress_interval).
  returned: always
  type: int
  sample: 7
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
        progress_interval=dict(type="int", default=10),
        resume=dict(type="dict"),
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
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
