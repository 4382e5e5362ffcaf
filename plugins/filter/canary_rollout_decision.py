# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: canary_rollout_decision
short_description: Decide where a canary rollout starts from the live split and its state
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Takes the live split object (as C(kubernetes.core.k8s_info) returns it, or V(null) when there is none) with the
    rollout state the C(meshlab.canary.canary) role keeps in its C(meshlab.canary/rollout) annotation, and the
    run's plan (C(meshlab.canary.expand_stages)), and says what the run does.
  - C(start) at stage 1 (no split, all traffic on the stable version, or O(restart)); C(resume) (a stage of the plan
    is live, passed, failed or interrupted; it is re-verified without rewriting the weights, then the later stages
    run); C(none) (the final stage is live and passed; with O(reverify) it is measured again, read-only); or
    C(refuse) with reason C(busy) (another run holds the split with a heartbeat younger than O(stale_after)) or
    C(unknown_weights) (the live weights are in no stage of the plan). A refused run writes nothing.
  - Never plans a write that moves the canary's share below what is live, except with O(restart).
options:
  _input:
    description: The live split object, or V(null).
    type: raw
    required: true
  plan:
    description: The stages from C(meshlab.canary.expand_stages).
    type: list
    elements: dict
    required: true
  stable_service:
    description: Service of the stable version.
    type: str
    required: true
  canary_service:
    description: Service of the canary version.
    type: str
    required: true
  now:
    description: Current time in seconds since the epoch.
    type: float
    required: true
  stale_after:
    description: Seconds without a heartbeat after which a running rollout is stale and may be taken over.
    type: int
    required: true
  run_id:
    description: This run's id.
    type: str
    default: ""
  restart:
    description: Start at stage 1 whatever is live.
    type: bool
    default: false
  reverify:
    description: When already promoted, measure the final stage again (read-only).
    type: bool
    default: false
  takeover:
    description: Take over a running rollout even if its heartbeat is fresh (the operator knows it is gone).
    type: bool
    default: false
  verify:
    description: Whether this run measures the stages (a stage only C(applied) earlier counts as passed only without).
    type: bool
    default: true
  gates:
    description: The manual gates (C(canary_pause)), a list of C({stage, action, seconds, prompt}).
    type: list
    elements: dict
  name:
    description: Name of the split, for messages.
    type: str
    default: split
  namespace:
    description: Namespace of the split, for messages.
    type: str
    default: default
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    decision: >-
      {{ (live.resources | first | default(none))
         | meshlab.canary.canary_rollout_decision(plan, 'backend-v1', 'backend-v2', now=now(utc=true).timestamp(),
                                                  stale_after=1200) }}
"""

RETURN = r"""
_value:
  description:
    - C(action), C(reason), C(message), C(read_only), C(took_over), C(resource_version) (precondition of the first
      write, "" for no split), C(live) (C(exists), C(weights), C(canary_share), C(stage), C(state)), C(gates) and
      C(stages) (the plan, each stage with C(mode) C(skip), C(reverify) or C(apply) and its C(gate)).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._rollout_state import decide


def canary_rollout_decision(live, plan, stable_service, canary_service, now, stale_after, run_id="", restart=False,
                            reverify=False, takeover=False, verify=True, gates=None, name="split",
                            namespace="default"):
    """Where the rollout starts (see module_utils._rollout_state.decide)."""
    if live is not None and not isinstance(live, dict):
        raise AnsibleFilterError("canary_rollout_decision: expected the split object or null, got %s"
                                 % type(live).__name__)
    try:
        return decide(live or None, plan, stable_service, canary_service, now, stale_after, run_id=run_id,
                      restart=bool(restart), reverify=bool(reverify), takeover=bool(takeover), verify=bool(verify),
                      gates=gates, name=name, namespace=namespace)
    except CanaryError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    """meshlab.canary rollout decision."""

    def filters(self):
        return {"canary_rollout_decision": canary_rollout_decision}
