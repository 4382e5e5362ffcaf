# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: sidecar_problems
short_description: Explain which pods lack the service-mesh sidecar
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Takes Pod objects (as returned by C(kubernetes.core.k8s_info)) and returns one message per pod
    that does not carry the sidecar container, naming the pod, its containers, and the fix.
  - Pods that are being deleted are ignored.
options:
  _input:
    description: List of Pod objects.
    type: list
    elements: dict
    required: true
  container:
    description: Name of the sidecar container.
    type: str
    default: nginx-mesh-sidecar
  namespace_label:
    description: The namespace label that turns injection on, quoted in the fix.
    type: str
    default: injector.nsm.nginx.com/auto-inject=enabled
"""

EXAMPLES = r"""
- name: Every pod has its sidecar
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
  vars:
    __problems: "{{ __pods.resources | meshlab.canary.sidecar_problems }}"
"""

RETURN = r"""
_value:
  description: One message per pod without the sidecar; empty when all pods have it.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError


def sidecar_problems(pods, container="nginx-mesh-sidecar", namespace_label="injector.nsm.nginx.com/auto-inject=enabled"):
    """Return a message per pod that lacks the sidecar container."""
    if not isinstance(pods, list):
        raise AnsibleFilterError("sidecar_problems: expected a list of Pod objects, got %s" % type(pods).__name__)
    problems = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        names = [item.get("name") for item in (pod.get("spec") or {}).get("containers") or []]
        if container in names:
            continue
        owner = ""
        for ref in meta.get("ownerReferences") or []:
            owner = " (%s %s)" % (ref.get("kind"), ref.get("name"))
        problems.append(
            "pod %s/%s%s has containers [%s] but no %s: the namespace lacks the label %s or the pod was created "
            "before it was set; label the namespace, then restart the workload (kubectl rollout restart)"
            % (meta.get("namespace", ""), meta.get("name", "?"), owner, ", ".join(str(n) for n in names),
               container, namespace_label))
    return problems


class FilterModule(object):
    """meshlab.canary sidecar check."""

    def filters(self):
        return {"sidecar_problems": sidecar_problems}
