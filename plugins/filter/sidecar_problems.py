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
  - A pod carries the sidecar when O(container) is one of its C(spec.containers) (NGINX Service Mesh, Linkerd with
    native sidecars off), or one of its C(spec.initContainers) with C(restartPolicy=Always), a Kubernetes native
    sidecar, which Linkerd edge-26.8 injects by default. A plain init container of that name runs to completion
    before the application starts and proxies nothing, so it does not count.
  - Pods that are being deleted are ignored.
options:
  _input:
    description: List of Pod objects.
    type: list
    elements: dict
    required: true
  container:
    description: Name of the sidecar container the mesh injects (C(nginx-mesh-sidecar) for NGINX Service Mesh,
      C(linkerd-proxy) for Linkerd).
    type: str
    required: true
  hint:
    description:
      - The cause and the fix, appended to each message after the pod and its containers; it depends on the mesh
        (the namespace label or annotation that turns injection on, then restarting the workload).
      - The C(meshlab.canary.apps) role passes the one of its mesh provider (C(apps_sidecar_hint)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Every pod has its sidecar
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
  vars:
    __problems: >-
      {{ __pods.resources | meshlab.canary.sidecar_problems('linkerd-proxy',
         'the namespace lacks the annotation linkerd.io/inject: enabled; annotate it, then kubectl rollout restart') }}
"""

RETURN = r"""
_value:
  description: One message per pod without the sidecar; empty when all pods have it.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError


def _names(items):
    return [item.get("name") for item in items or [] if isinstance(item, dict)]


def _native_sidecars(init_containers):
    """Names of the init containers that are native sidecars (restartPolicy Always: they keep running)."""
    return [item.get("name") for item in init_containers or []
            if isinstance(item, dict) and item.get("restartPolicy") == "Always"]


def _required_text(value, name, example):
    if not isinstance(value, str) or not value.strip():
        raise AnsibleFilterError("sidecar_problems: %s is required, a non-empty string (%s); got %r"
                                 % (name, example, value))
    return value


def sidecar_problems(pods, container=None, hint=None):
    """Return a message per pod that lacks the sidecar container (in containers, or as a native sidecar)."""
    if not isinstance(pods, list):
        raise AnsibleFilterError("sidecar_problems: expected a list of Pod objects, got %s" % type(pods).__name__)
    container = _required_text(container, "container", "the sidecar's container name, e.g. linkerd-proxy")
    hint = _required_text(hint, "hint", "the fix for a pod without the sidecar, e.g. which namespace label to set")
    problems = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        spec = pod.get("spec") or {}
        names = _names(spec.get("containers"))
        init_names = _names(spec.get("initContainers"))
        if container in names or container in _native_sidecars(spec.get("initContainers")):
            continue
        owner = ""
        for ref in meta.get("ownerReferences") or []:
            owner = " (%s %s)" % (ref.get("kind"), ref.get("name"))
        listed = "containers [%s]" % ", ".join(str(n) for n in names)
        if init_names:
            listed += " and init containers [%s]" % ", ".join(str(n) for n in init_names)
        plain_init = ""
        if container in init_names:
            plain_init = (" (%s is a plain init container, without restartPolicy: Always, so it ran to completion "
                          "before the application and proxies nothing)" % container)
        problems.append("pod %s/%s%s has %s but no %s%s: %s"
                        % (meta.get("namespace", ""), meta.get("name", "?"), owner, listed, container, plain_init,
                           hint))
    return problems


class FilterModule(object):
    """meshlab.canary sidecar check."""

    def filters(self):
        return {"sidecar_problems": sidecar_problems}
