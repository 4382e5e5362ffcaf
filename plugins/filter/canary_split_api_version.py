# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: canary_split_api_version
short_description: The apiVersion of the split API the cluster serves, from kubernetes.core.k8s_cluster_info
version_added: 0.2.0
author: meshlab.canary maintainers
description:
  - Takes the C(apis) that C(kubernetes.core.k8s_cluster_info) returns and gives the full apiVersion
    (C(group/version)) at which the C(meshlab.canary.canary) role reads the split of O(api).
  - Without O(requested), the newest version of the API's group that serves the kind (C(TrafficSplit) for
    V(smi), C(HTTPRoute) for V(gateway)), in the order C(meshlab.canary.traffic_split) prefers, so the role
    reads at the version the module writes (linkerd-smi serves TrafficSplit at v1alpha2 and v1alpha1 only,
    NGINX Service Mesh at v1alpha3 and older).
  - O(requested) (the role's C(canary_api_version), a version or a full apiVersion) wins when set; it must be
    one the cluster serves for the kind.
  - When the cluster serves the kind in no version, fails naming C(canary_api), the API group and what to
    install, or with O(required=false) returns an empty string.
options:
  _input:
    description: The C(apis) of C(kubernetes.core.k8s_cluster_info), C({"group/version" -> {kind -> details}}).
    type: dict
    required: true
  api:
    description: The split API, as the role's C(canary_api).
    type: str
    choices: [smi, gateway]
    required: true
  requested:
    description: A version (V(v1alpha2)) or apiVersion (V(split.smi-spec.io/v1alpha2)); empty for the newest served.
    type: str
    default: ""
  required:
    description: Fail when the kind is not served (V(true)), or return an empty string (V(false)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Discover the served APIs
  kubernetes.core.k8s_cluster_info:
  register: cluster

- name: The apiVersion to read the TrafficSplit at (split.smi-spec.io/v1alpha2 under linkerd-smi)
  ansible.builtin.debug:
    msg: "{{ cluster.apis | meshlab.canary.canary_split_api_version('smi') }}"

- name: The HTTPRoute's apiVersion, or an empty string without the Gateway API CRDs
  ansible.builtin.debug:
    msg: "{{ cluster.apis | meshlab.canary.canary_split_api_version('gateway', required=false) }}"
"""

RETURN = r"""
_value:
  description: The apiVersion, for example C(split.smi-spec.io/v1alpha2); empty when not served and O(required=false).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._split_api import API, choose_version

# What to install when the split API is not served at all, per canary_api.
_FIX = {
    "smi": ("install a mesh that serves the SMI TrafficSplit: NGINX Service Mesh (the service_mesh role), or on "
            "Linkerd the linkerd-smi extension; or use canary_api=gateway on a cluster with the Gateway API CRDs"),
    "gateway": ("install the Gateway API CRDs (HTTPRoute, at a version the mesh supports); or use canary_api=smi "
                "on a mesh that serves the SMI TrafficSplit"),
}


def served_versions(apis, api):
    """The versions of the API's group that serve its kind, in the module's order (newest first), then any other."""
    info = API[api]
    served = []
    for group_version, kinds in apis.items():
        group, _sep, version = str(group_version).rpartition("/")
        if group == info["group"] and isinstance(kinds, dict) and info["kind"] in kinds and version not in served:
            served.append(version)
    known = [version for version in info["versions"] if version in served]
    return known + [version for version in served if version not in known]


def canary_split_api_version(apis, api, requested="", required=True):
    """The apiVersion (group/version) of the split API ``api`` to read, from k8s_cluster_info's ``apis``."""
    if api not in API:
        raise AnsibleFilterError("canary_api must be one of {0}, got {1!r}".format(", ".join(sorted(API)), api))
    if not isinstance(apis, dict):
        raise AnsibleFilterError("canary_split_api_version: expected the apis mapping of kubernetes.core."
                                 "k8s_cluster_info, got {0}".format(type(apis).__name__))
    info = API[api]
    served = served_versions(apis, api)
    if not served:
        if not required:
            return ""
        raise AnsibleFilterError(
            "canary_api={0} needs the {1} kind of the API group {2}, and this cluster serves no version of it: "
            "{3}.".format(api, info["kind"], info["group"], _FIX[api]))
    try:
        version = choose_version(api, served, requested or None)
    except CanaryError as exc:
        raise AnsibleFilterError("canary_api={0}, canary_api_version={1!r}: {2}. Leave canary_api_version empty "
                                 "to read and write at the newest served version.".format(api, requested, exc))
    return "{0}/{1}".format(info["group"], version)


class FilterModule(object):
    """meshlab.canary split API version."""

    def filters(self):
        return {"canary_split_api_version": canary_split_api_version}
