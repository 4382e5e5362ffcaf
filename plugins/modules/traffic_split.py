#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: traffic_split
short_description: Ensure a weighted traffic split (SMI TrafficSplit or Gateway API HTTPRoute)
version_added: 0.1.0
author:
  - meshlab.canary maintainers (@meshlab)
description:
  - Ensures that traffic addressed to a root Service is split between backend Services with the given absolute weights.
  - With O(api=smi) (default) the module writes a C(split.smi-spec.io) C(TrafficSplit). It detects which version of the
    API the cluster serves (C(v1alpha1) to C(v1alpha4); NGINX Service Mesh serves only C(v1alpha3)) and writes that
    version, unless O(api_version) is given. Weights are rendered as integers (C(v1alpha2) and later) or as
    quantities such as C(900m) (C(v1alpha1)).
  - With O(api=gateway) the module writes a Gateway API C(HTTPRoute) with weighted C(backendRefs), attached either to
    the root Service (GAMMA, C(parentRefs) of kind C(Service)) or to the Gateway named in O(gateway). After a change
    it waits up to O(wait_timeout) seconds until the route is C(Accepted) at its current C(metadata.generation).
  - All input is validated before the cluster is touched; a rejected request changes nothing.
  - The whole spec is written in one request (replace with the C(resourceVersion) that was read), so a failure never
    leaves a half-applied split.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  name:
    description:
      - Name of the C(TrafficSplit) or C(HTTPRoute) object.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the split object, the root Service and the backend Services.
    type: str
    default: default
  service:
    description:
      - The root Service whose traffic is split. Clients address this Service.
      - Required when O(state=present).
    type: str
  backends:
    description:
      - The backend Services and their absolute weights.
      - The share of a backend is its weight divided by the sum of all weights. At least one weight must be above zero.
      - Required when O(state=present).
    type: list
    elements: dict
    suboptions:
      service:
        description:
          - Name of the backend Service (in O(namespace)).
        type: str
        required: true
      weight:
        description:
          - Absolute weight, a whole number C(>= 0). For O(api=gateway) at most C(1000000).
        type: int
        required: true
  state:
    description:
      - V(present) creates or updates the split, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  api:
    description:
      - Which API carries the split.
      - V(smi) writes an SMI C(TrafficSplit) (C(split.smi-spec.io)).
      - V(gateway) writes a Gateway API C(HTTPRoute) (C(gateway.networking.k8s.io)).
    type: str
    choices: [smi, gateway]
    default: smi
  api_version:
    description:
      - Version of the API group to write, for example V(v1alpha3) for SMI or V(v1) for the Gateway API
        (V(split.smi-spec.io/v1alpha3) is accepted too).
      - When omitted, the newest version that the cluster serves is used.
    type: str
  gateway:
    description:
      - Attach the C(HTTPRoute) to this Gateway instead of the root Service. Only used with O(api=gateway).
    type: dict
    suboptions:
      name:
        description:
          - Name of the Gateway.
        type: str
        required: true
      namespace:
        description:
          - Namespace of the Gateway. Defaults to O(namespace).
        type: str
      section_name:
        description:
          - Listener of the Gateway to attach to.
        type: str
  port:
    description:
      - Port of the root Service, used in the GAMMA C(parentRefs) and for the C(backendRefs) of an C(HTTPRoute).
    type: int
    default: 80
  wait_timeout:
    description:
      - Seconds to wait for an C(HTTPRoute) to be C(Accepted) at its current generation after a change.
      - Not used for SMI, which has no status.
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
notes:
  - Splits are per Service, not per pod. Splits on headless Services do not work with NGINX Service Mesh.
  - The weights are read back from the object, so running the same task twice reports no change the second time.
seealso:
  - module: meshlab.canary.traffic_ratio
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Send 10 % of backend-svc traffic to backend-v2 (SMI, version detected)
  meshlab.canary.traffic_split:
    name: backend-ts
    namespace: default
    service: backend-svc
    backends:
      - service: backend-v1
        weight: 90
      - service: backend-v2
        weight: 10
  register: canary_split

- name: Move all traffic to v2 through a GAMMA HTTPRoute attached to the root Service
  meshlab.canary.traffic_split:
    name: backend-route
    namespace: default
    api: gateway
    service: backend-svc
    port: 80
    backends:
      - service: backend-v1
        weight: 0
      - service: backend-v2
        weight: 100
    wait_timeout: 120

- name: Split traffic behind a named Gateway listener
  meshlab.canary.traffic_split:
    name: backend-route
    namespace: default
    api: gateway
    api_version: v1
    service: backend-svc
    gateway:
      name: lab-gateway
      namespace: gateway-system
      section_name: http
    backends:
      - service: backend-v1
        weight: 800000
      - service: backend-v2
        weight: 200000

- name: Remove the split
  meshlab.canary.traffic_split:
    name: backend-ts
    namespace: default
    state: absent
"""

RETURN = r"""
weights:
  description:
    - The weights in force after the task, per backend Service (empty after O(state=absent)).
    - For a C(v1alpha1) TrafficSplit these are the shares written as quantities (C(900m) reads as V(0.9)).
  returned: always
  type: dict
  sample: {"backend-v1": 90, "backend-v2": 10}
previous_weights:
  description: The weights found before the task, or V(null) when the object did not exist.
  returned: always
  type: dict
  sample: {"backend-v1": 100, "backend-v2": 0}
api_version:
  description: The C(apiVersion) of the object written or read.
  returned: always
  type: str
  sample: split.smi-spec.io/v1alpha3
kind:
  description: The kind of the object, C(TrafficSplit) or C(HTTPRoute).
  returned: always
  type: str
  sample: TrafficSplit
changed_at:
  description: When the change was written (RFC 3339, UTC), or V(null) when nothing changed or in check mode.
  returned: always
  type: str
  sample: "2026-11-27T18:30:00.123456Z"
diff:
  description: The weights before and after the task.
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"weights": {"backend-v1": 100, "backend-v2": 0}}, "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
)
from ansible_collections.meshlab.canary.plugins.module_utils.errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils.kube import (
    HAS_KUBERNETES,
    KUBERNETES_IMPORT_ERROR,
    connect,
)
from ansible_collections.meshlab.canary.plugins.module_utils.split_api import ensure_split


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="default"),
        service=dict(type="str"),
        backends=dict(
            type="list",
            elements="dict",
            options=dict(
                service=dict(type="str", required=True),
                weight=dict(type="int", required=True),
            ),
        ),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        api=dict(type="str", choices=["smi", "gateway"], default="smi"),
        api_version=dict(type="str"),
        gateway=dict(
            type="dict",
            options=dict(
                name=dict(type="str", required=True),
                namespace=dict(type="str"),
                section_name=dict(type="str"),
            ),
        ),
        port=dict(type="int", default=80),
        wait_timeout=dict(type="int", default=60),
    )
    spec.update(AUTH_ARG_SPEC)
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ("service", "backends"))],
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    try:
        result = ensure_split(
            connect(module.params),
            module.params,
            check_mode=module.check_mode,
            diff_mode=module._diff,
        )
    except CanaryError as exc:
        module.fail_json(msg=str(exc), **exc.fields)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
