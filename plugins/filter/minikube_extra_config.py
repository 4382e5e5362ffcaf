# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: minikube_extra_config
short_description: Version-aware minikube C(--extra-config) values for service-account token projection
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Builds the C(component.key=value) strings that C(minikube start --extra-config=...) takes for
    Service Account Token Volume Projection, for the Kubernetes version in O(_input).
  - The audiences flag depends on the version. C(apiserver.service-account-api-audiences) was removed
    in Kubernetes 1.25 (kubernetes/kubernetes#108624), so from 1.25 on C(apiserver.api-audiences) is used;
    below 1.25 the tutorial's C(apiserver.service-account-api-audiences) is kept.
  - Empty settings are left out, so minikube's own defaults apply for them.
  - O(extra) entries are appended as given after a syntax check (C(component.key=value)).
options:
  _input:
    description: Kubernetes version, for example C(v1.26.15) or C(1.24.17).
    type: str
    required: true
  issuer:
    description: Value for C(apiserver.service-account-issuer); empty to omit.
    type: str
    default: ""
  signing_key_file:
    description: Value for C(apiserver.service-account-signing-key-file); empty to omit.
    type: str
    default: ""
  key_file:
    description: Value for C(apiserver.service-account-key-file); empty to omit.
    type: str
    default: ""
  audiences:
    description: Audiences for the version-appropriate audiences flag; empty to omit.
    type: list
    elements: str
    default: []
  extra:
    description: Further C(component.key=value) strings to append.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Flags for Kubernetes 1.26 (uses apiserver.api-audiences)
  ansible.builtin.debug:
    msg: >-
      {{ 'v1.26.15' | meshlab.canary.minikube_extra_config(
           issuer='kubernetes/serviceaccount', audiences=['api']) }}
"""

RETURN = r"""
_value:
  description: List of C(component.key=value) strings, without the C(--extra-config=) prefix.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")
_EXTRA = re.compile(r"^[a-z][a-z-]*\.[A-Za-z0-9][A-Za-z0-9._-]*=.*$")

# First Kubernetes minor release without --service-account-api-audiences.
AUDIENCES_RENAMED_IN = (1, 25)


def parse_kubernetes_version(version):
    """Return (major, minor, patch) for strings like v1.26.15; raise AnsibleFilterError otherwise."""
    if not isinstance(version, str):
        raise AnsibleFilterError(
            "minikube_kubernetes_version: expected a string such as 'v1.26.15', got %r" % (version,))
    match = _VERSION.match(version.strip())
    if not match:
        raise AnsibleFilterError(
            "minikube_kubernetes_version: %r is not a Kubernetes version; use the form v1.26.15" % version)
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def audiences_key(version):
    """The apiserver flag (without component prefix) that sets API audiences for this version."""
    major, minor, _patch = parse_kubernetes_version(version)
    if (major, minor) >= AUDIENCES_RENAMED_IN:
        return "api-audiences"
    return "service-account-api-audiences"


def minikube_extra_config(version, issuer="", signing_key_file="", key_file="", audiences=None, extra=None):
    """Build minikube --extra-config values for token projection, version-aware."""
    result = []
    key = audiences_key(version)
    for name, value in (("service-account-signing-key-file", signing_key_file),
                        ("service-account-key-file", key_file),
                        ("service-account-issuer", issuer)):
        if value:
            result.append("apiserver.%s=%s" % (name, value))
    audiences = audiences or []
    if isinstance(audiences, str):
        audiences = [audiences]
    audiences = [str(item) for item in audiences if str(item)]
    if audiences:
        result.append("apiserver.%s=%s" % (key, ",".join(audiences)))
    for item in extra or []:
        if not isinstance(item, str) or not _EXTRA.match(item):
            raise AnsibleFilterError(
                "minikube_extra_config: %r is not of the form component.key=value "
                "(for example kubelet.max-pods=150)" % (item,))
        if item.startswith("apiserver.service-account-api-audiences=") and key == "api-audiences":
            raise AnsibleFilterError(
                "minikube_extra_config: apiserver.service-account-api-audiences was removed in Kubernetes 1.25 "
                "and %s would not start; use minikube_service_account_audiences instead" % version)
        result.append(item)
    return result


class FilterModule(object):
    """meshlab.canary minikube flag selection."""

    def filters(self):
        return {"minikube_extra_config": minikube_extra_config}
