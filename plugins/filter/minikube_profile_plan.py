# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: minikube_profile_plan
short_description: Decide what to do with a minikube profile from C(minikube profile list -o json)
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Compares the named profile in the output of C(minikube profile list -o json) (and optionally
    C(minikube status -o json)) with the wanted settings and returns one action.
  - C(create) when the profile does not exist; C(none) when it runs with the wanted settings;
    C(start) when it exists with the wanted settings but is not running; C(recreate) when its
    settings differ (or it is invalid) and O(recreate) is true; C(conflict) when they differ and
    O(recreate) is false, with every difference listed in C(drift).
  - Only the token-projection C(apiserver) settings and the wanted C(--extra-config) keys are
    compared among the extra options; options minikube adds on its own are ignored.
options:
  _input:
    description: Output of C(minikube profile list -o json), as a string or parsed mapping. Empty or an error object means no profiles.
    type: raw
    required: true
  profile:
    description: Profile name.
    type: str
    required: true
  desired:
    description:
      - Wanted settings; keys C(driver), C(cpus), C(memory_mb), C(kubernetes_version),
        C(extra_config) (list of C(component.key=value)) and optionally C(container_runtime).
    type: dict
    required: true
  status:
    description: Output of C(minikube status -p PROFILE -o json), as a string or parsed value; optional.
    type: raw
  recreate:
    description: Whether a profile with other settings may be deleted and created again.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Plan the profile
  ansible.builtin.set_fact:
    __minikube_plan: >-
      {{ __minikube_profiles.stdout | meshlab.canary.minikube_profile_plan(
           profile='meshlab', desired=__minikube_desired, status=__minikube_status.stdout,
           recreate=minikube_recreate) }}
"""

RETURN = r"""
_value:
  description: Mapping with C(action), C(exists), C(running), C(status), C(drift) (list of strings) and C(message).
  type: dict
"""

import json

from ansible.errors import AnsibleFilterError

RUNNING_PROFILE_STATES = ("Running", "OK")
_MANAGED_PREFIXES = ("apiserver.service-account-", "apiserver.api-audiences")


def _load(value, what):
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            # minikube prints an error object or plain text when nothing exists.
            return None
    raise AnsibleFilterError("minikube_profile_plan: %s has unexpected type %s" % (what, type(value).__name__))


def _norm_version(version):
    text = str(version or "").strip()
    if text and not text.startswith("v"):
        text = "v" + text
    return text


def _options(config):
    kube = config.get("KubernetesConfig") or {}
    result = {}
    for option in kube.get("ExtraOptions") or []:
        key = "%s.%s" % (option.get("Component", ""), option.get("Key", ""))
        result[key] = str(option.get("Value", ""))
    return result


def _split_extra(items):
    result = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        if not sep:
            raise AnsibleFilterError(
                "minikube_profile_plan: desired extra_config entry %r is not component.key=value" % (item,))
        result[key] = value
    return result


def profile_drift(config, desired):
    """List human-readable differences between a profile's Config and the wanted settings."""
    drift = []
    kube = config.get("KubernetesConfig") or {}

    def compare(label, current, wanted):
        if wanted in (None, ""):
            return
        if str(current) != str(wanted):
            drift.append("%s: profile has %s, wanted %s" % (label, current if current not in (None, "") else "(unset)", wanted))

    compare("driver", config.get("Driver"), desired.get("driver"))
    compare("cpus", config.get("CPUs"), desired.get("cpus"))
    compare("memory_mb", config.get("Memory"), desired.get("memory_mb"))
    if desired.get("kubernetes_version"):
        compare("kubernetes_version", _norm_version(kube.get("KubernetesVersion")),
                _norm_version(desired.get("kubernetes_version")))
    compare("container_runtime", kube.get("ContainerRuntime"), desired.get("container_runtime"))

    current = _options(config)
    wanted = _split_extra(desired.get("extra_config"))
    for key in sorted(wanted):
        if key not in current:
            drift.append("extra-config %s: not set in profile, wanted %s" % (key, wanted[key]))
        elif current[key] != wanted[key]:
            drift.append("extra-config %s: profile has %s, wanted %s" % (key, current[key], wanted[key]))
    for key in sorted(current):
        if key not in wanted and key.startswith(_MANAGED_PREFIXES):
            drift.append("extra-config %s: profile has %s, not wanted" % (key, current[key]))
    return drift


def _status_running(status):
    if isinstance(status, list):
        status = status[0] if status else None
    if not isinstance(status, dict):
        return None
    return all(status.get(key) == "Running" for key in ("Host", "Kubelet", "APIServer"))


def minikube_profile_plan(profiles, profile, desired, status=None, recreate=False):
    """Return the action for a minikube profile: create, none, start, recreate or conflict."""
    if not isinstance(profile, str) or not profile:
        raise AnsibleFilterError("minikube_profile_plan: profile must be a non-empty string")
    if not isinstance(desired, dict):
        raise AnsibleFilterError("minikube_profile_plan: desired must be a mapping")
    data = _load(profiles, "profile list") or {}
    if not isinstance(data, dict):
        raise AnsibleFilterError("minikube_profile_plan: profile list is not a JSON object")

    found, invalid = None, False
    for entry in data.get("valid") or []:
        if entry.get("Name") == profile:
            found = entry
    if found is None:
        for entry in data.get("invalid") or []:
            if entry.get("Name") == profile:
                found, invalid = entry, True

    if found is None:
        return {"action": "create", "exists": False, "running": False, "status": "absent", "drift": [],
                "message": "profile %s does not exist; it will be created" % profile}

    state = str(found.get("Status") or "Unknown")
    parsed_status = _load(status, "status")
    running = _status_running(parsed_status)
    if running is not None:
        first = parsed_status[0] if isinstance(parsed_status, list) else parsed_status
        state = "host %s, apiserver %s" % (first.get("Host", "?"), first.get("APIServer", "?"))
    if running is None:
        running = state in RUNNING_PROFILE_STATES
    drift = ["profile is listed as invalid by minikube"] if invalid else []
    drift.extend(profile_drift(found.get("Config") or {}, desired))

    if drift:
        action = "recreate" if recreate else "conflict"
        if recreate:
            message = "profile %s differs from the wanted settings and will be deleted and created again: %s" % (
                profile, "; ".join(drift))
        else:
            message = ("profile %s exists with other settings: %s. Nothing was changed. Delete it "
                       "(minikube delete -p %s), pick another minikube_profile, or set minikube_recreate: true"
                       % (profile, "; ".join(drift), profile))
    elif running:
        action, message = "none", "profile %s is running with the wanted settings" % profile
    else:
        action, message = "start", "profile %s exists with the wanted settings but is not running (%s); it will be started" % (
            profile, state)
    return {"action": action, "exists": True, "running": bool(running), "status": state, "drift": drift,
            "message": message}


class FilterModule(object):
    """meshlab.canary minikube profile planning."""

    def filters(self):
        return {"minikube_profile_plan": minikube_profile_plan}
