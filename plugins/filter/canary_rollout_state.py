# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: canary_rollout_state
short_description: The canary rollout state document the canary role writes on the split
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Builds the rollout state (schema version 1) for the C(meshlab.canary/rollout) annotation, written by
    C(meshlab.canary.traffic_split) in the same request as the weights.
  - Keys C(version), C(run_id), C(status), C(plan), C(stage), C(label), C(weights), C(verdict), C(failed_stage),
    C(paused_before), C(started), C(heartbeat); see the canary role's README.
options:
  _input:
    description: The stage whose weights are live (an entry of C(meshlab.canary.expand_stages), or the stable-only stage 0).
    type: dict
    required: true
  run_id:
    description: The run's id.
    type: str
    required: true
  plan:
    description: The stages of the run's plan.
    type: list
    elements: dict
    required: true
  status:
    description: C(running), C(paused), C(promoted), C(completed), C(rolled_back) or C(failed).
    type: str
    required: true
  verdict:
    description: Of the live weights, C(pending), C(pass), C(fail), C(applied) or C(none).
    type: str
    required: true
  started:
    description: When the run started (RFC 3339 UTC).
    type: str
    required: true
  now:
    description: Now (RFC 3339 UTC), the heartbeat.
    type: str
    required: true
  weights:
    description: The live weights, if not those of the stage.
    type: dict
  failed_stage:
    description: Number of the stage that failed.
    type: int
  paused_before:
    description: Number of the stage a stop gate held back.
    type: int
"""

EXAMPLES = r"""
- name: State of a run at stage 2, not yet judged
  ansible.builtin.debug:
    msg: "{{ stage | meshlab.canary.canary_rollout_state(run_id, plan, 'running', 'pending', started, stamp) }}"
"""

RETURN = r"""
_value:
  description: The state document (a mapping; written as compact JSON with sorted keys).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._rollout_state import state_document


def canary_rollout_state(stage, run_id, plan, status, verdict, started, now, weights=None, failed_stage=None,
                         paused_before=None):
    """The rollout state document (see module_utils._rollout_state)."""
    if not isinstance(stage, dict) or "number" not in stage or "label" not in stage:
        raise AnsibleFilterError("canary_rollout_state: expected a stage with number, label and backends")
    try:
        return state_document(run_id, plan, status, stage, weights, verdict, started, now,
                              failed_stage=None if failed_stage is None else int(failed_stage),
                              paused_before=None if paused_before is None else int(paused_before))
    except CanaryError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    """meshlab.canary rollout state."""

    def filters(self):
        return {"canary_rollout_state": canary_rollout_state}
