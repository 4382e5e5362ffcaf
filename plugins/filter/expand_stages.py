# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: expand_stages
short_description: Turn a canary schedule into per-stage backend weights
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Expands the O(_input) schedule of canary shares (percent of traffic for the new version)
    into one entry per stage with the backend weights for C(meshlab.canary.traffic_split) and
    the expected per-version weights for C(meshlab.canary.traffic_ratio_info).
  - >-
    The schedule is either a list of whole percentages, for example V([10, 80, 100]) (the
    tutorial's 90/10, 20/80, 0/100), or a linear mapping with C(step) and C(max) as Flagger offers
    (step 20 and max 60 give 20, 40, 60 and then 100 unless C(promote) is false).
  - Shares must be whole numbers from 0 to 100 and strictly increasing; anything else fails
    with a message naming the offending entry.
options:
  _input:
    description:
      - List of canary shares, or a mapping with C(step), C(max) and optional C(promote) (default true).
      - A string is accepted as JSON (V([5, 50, 100])) or comma-separated (V(5,50,100)), as C(-e key=value) passes it.
    type: raw
    required: true
  stable_service:
    description: Service that selects the stable version (gets 100 minus the share).
    type: str
    required: true
  canary_service:
    description: Service that selects the canary version (gets the share).
    type: str
    required: true
  stable_version:
    description: Version label value of the stable pods, the key used in C(expected).
    type: str
    default: "1"
  canary_version:
    description: Version label value of the canary pods, the key used in C(expected).
    type: str
    default: "2"
"""

EXAMPLES = r"""
- name: Weights for the tutorial's three stages
  ansible.builtin.debug:
    msg: "{{ [10, 80, 100] | meshlab.canary.expand_stages('backend-v1', 'backend-v2') }}"

- name: Linear schedule, 25 % steps up to 75 %, then promotion to 100 %
  ansible.builtin.debug:
    msg: "{{ {'step': 25, 'max': 75} | meshlab.canary.expand_stages('backend-v1', 'backend-v2') }}"
"""

RETURN = r"""
_value:
  description:
    - One mapping per stage with C(number) (1-based), C(canary_weight), C(stable_weight),
      C(label) (for example C(90/10)), C(backends) (list of C({service, weight}) for
      C(meshlab.canary.traffic_split)) and C(expected) (version to weight for
      C(meshlab.canary.traffic_ratio_info)).
  type: list
  elements: dict
"""

import json

from ansible.errors import AnsibleFilterError

_FIELD = "canary_stages"


def _as_share(value, where):
    """Return value as an int percentage in [0, 100] or raise AnsibleFilterError."""
    if isinstance(value, bool):
        raise AnsibleFilterError(
            "%s: %s is a boolean (%r); use a whole percentage from 0 to 100" % (_FIELD, where, value))
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise AnsibleFilterError(
                "%s: %s is %r, not a whole number; use a whole percentage from 0 to 100" % (_FIELD, where, value))
        value = int(text)
    elif isinstance(value, float):
        if not value.is_integer():
            raise AnsibleFilterError(
                "%s: %s is %r; weights must be whole numbers (TrafficSplit weights are integers)" % (_FIELD, where, value))
        value = int(value)
    elif not isinstance(value, int):
        raise AnsibleFilterError(
            "%s: %s has type %s; use a whole percentage from 0 to 100" % (_FIELD, where, type(value).__name__))
    if value < 0 or value > 100:
        raise AnsibleFilterError(
            "%s: %s is %d, outside 0..100; the canary share is a percentage" % (_FIELD, where, value))
    return value


def _linear(spec):
    unknown = sorted(set(spec) - set(["step", "max", "promote"]))
    if unknown:
        raise AnsibleFilterError(
            "%s: unknown key(s) %s; the linear form accepts only step, max and promote" % (_FIELD, ", ".join(unknown)))
    for key in ("step", "max"):
        if key not in spec:
            raise AnsibleFilterError(
                "%s: the linear form needs '%s', e.g. {\"step\": 10, \"max\": 50}" % (_FIELD, key))
    step = _as_share(spec["step"], "step")
    maximum = _as_share(spec["max"], "max")
    if step == 0:
        raise AnsibleFilterError("%s: step is 0; use a step from 1 to 100" % _FIELD)
    if maximum < step:
        raise AnsibleFilterError(
            "%s: max (%d) is below step (%d); set max to at least one step" % (_FIELD, maximum, step))
    promote = spec.get("promote", True)
    if not isinstance(promote, bool):
        raise AnsibleFilterError("%s: promote is %r; use true or false" % (_FIELD, promote))
    shares = list(range(step, maximum + 1, step))
    if shares[-1] != maximum:
        shares.append(maximum)
    if promote and shares[-1] != 100:
        shares.append(100)
    return shares


def expand_stages(stages, stable_service, canary_service, stable_version="1", canary_version="2"):
    """Expand a schedule of canary shares into per-stage weights."""
    for name, value in (("stable_service", stable_service), ("canary_service", canary_service),
                        ("stable_version", stable_version), ("canary_version", canary_version)):
        if not isinstance(value, str) or not value:
            raise AnsibleFilterError("expand_stages: %s must be a non-empty string, got %r" % (name, value))
    if stable_service == canary_service:
        raise AnsibleFilterError(
            "expand_stages: stable_service and canary_service are both %r; they must differ" % stable_service)
    if str(stable_version) == str(canary_version):
        raise AnsibleFilterError(
            "expand_stages: stable_version and canary_version are both %r; they must differ" % stable_version)

    if isinstance(stages, str):
        # `-e canary_stages=[5,50,100]` or `-e canary_stages=5,50,100` arrive as strings.
        text = stages.strip()
        if text.startswith(("[", "{")):
            try:
                stages = json.loads(text)
            except ValueError as exc:
                raise AnsibleFilterError("%s: %r is not valid JSON (%s); write e.g. [10, 80, 100]" % (_FIELD, stages, exc))
        else:
            stages = text.split(",") if text else []
    if isinstance(stages, dict):
        shares = _linear(stages)
    elif isinstance(stages, (list, tuple)):
        if not stages:
            raise AnsibleFilterError("%s: the list is empty; give at least one stage, e.g. [10, 80, 100]" % _FIELD)
        shares = [_as_share(value, "entry %d" % (number + 1)) for number, value in enumerate(stages)]
    else:
        raise AnsibleFilterError(
            "%s: expected a list such as [10, 80, 100] or a mapping such as {\"step\": 10, \"max\": 50}, got %s"
            % (_FIELD, type(stages).__name__))

    for number in range(1, len(shares)):
        if shares[number] <= shares[number - 1]:
            raise AnsibleFilterError(
                "%s: entry %d (%d) is not above entry %d (%d); shares must strictly increase"
                % (_FIELD, number + 1, shares[number], number, shares[number - 1]))

    result = []
    for number, share in enumerate(shares):
        stable = 100 - share
        result.append({
            "number": number + 1,
            "canary_weight": share,
            "stable_weight": stable,
            "label": "%d/%d" % (stable, share),
            "backends": [
                {"service": stable_service, "weight": stable},
                {"service": canary_service, "weight": share},
            ],
            "expected": {str(stable_version): stable, str(canary_version): share},
        })
    return result


class FilterModule(object):
    """meshlab.canary stage expansion."""

    def filters(self):
        return {"expand_stages": expand_stages}
