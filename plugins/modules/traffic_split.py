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
  - meshlab.canary._attributes
  - meshlab.canary._attributes.actiongroup_k8s
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
  annotations:
    description:
      - Annotations to set on the split object in the same write as the weights, so that both always agree (for
        example a rollout state document, as the C(meshlab.canary.canary) role keeps one).
      - Only the keys given are managed; other annotations are kept. A value of V(null) removes the key.
      - A string is written as it is; a mapping or a list is written as compact JSON with sorted keys (templating
        may turn a JSON string back into a mapping, so either form gives the same annotation).
      - A changed annotation alone is a change (the weights are written unchanged with it).
      - Only used with O(state=present).
    type: dict
  resource_version:
    description:
      - Optimistic concurrency. Write only if the object is still at this C(metadata.resourceVersion), as read
        earlier (for example with C(kubernetes.core.k8s_info), or the RV(resource_version) of a previous task);
        the empty string means that the object must not exist yet.
      - When the object has changed (or exists, or is gone) the task fails with C(status=409) and C(conflict=true)
        and writes nothing, also in check mode. The write itself carries the same resourceVersion, so two writers
        that read the same version can never both succeed.
      - When omitted, the version read by the task itself is used (the write still never overwrites a change made
        between that read and the write).
      - Only used with O(state=present).
    type: str
attributes:
  check_mode:
    support: full
    details: Reads the objects and returns the weights, annotations and diff it would write; writes nothing.
  diff_mode:
    support: full
    details: The weights, and the managed annotations when O(annotations) is given, before and after.
  idempotent:
    support: full
    details: The weights and annotations are read back from the object and compared with the request.
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

- name: Step the weights and record who did it, only if nobody changed the split since it was read
  meshlab.canary.traffic_split:
    name: backend-ts
    namespace: default
    service: backend-svc
    backends:
      - service: backend-v1
        weight: 20
      - service: backend-v2
        weight: 80
    annotations:
      example.com/changed-by: "{{ lookup('ansible.builtin.env', 'USER') }}"
    resource_version: "{{ canary_split.resource_version }}"

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
annotations:
  description:
    - The values of the annotation keys given in O(annotations) after the task (keys that are absent are left out;
      empty when O(annotations) is not given or after O(state=absent)).
  returned: always
  type: dict
  sample: {"meshlab.canary/rollout": "{\"version\": 1, \"status\": \"running\"}"}
resource_version:
  description:
    - The C(metadata.resourceVersion) of the object after the task (the new one after a write), for the
      O(resource_version) of the next write; V(null) after O(state=absent) or for an object that check mode would
      create.
    - For an HTTPRoute, the one after its controller wrote the C(Accepted) status, when nothing but the status
      changed since the module's write.
  returned: always
  type: str
  sample: "4711"
conflict:
  description: V(true) when the task failed because the object was not at O(resource_version).
  returned: on a failed precondition
  type: bool
  sample: true
status:
  description: HTTP status of a failed request, C(409) for a failed O(resource_version) precondition.
  returned: on failure, when known
  type: int
  sample: 409
diff:
  description: The weights (and, with O(annotations), the managed annotations) before and after the task.
  returned: when diff mode is enabled
  type: dict
  sample: {"before": {"weights": {"backend-v1": 100, "backend-v2": 0}}, "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}
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
from ansible_collections.meshlab.canary.plugins.module_utils._split_api import ensure_split


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
        annotations=dict(type="dict"),
        resource_version=dict(type="str"),
    )
    spec.update(auth_argument_spec(AUTH_ARG_SPEC))
    return spec


def main():
    module = AnsibleK8SModule(
        module_class=redacting_module_class(AnsibleModule),
        argument_spec=argument_spec(),
        required_if=[("state", "present", ("service", "backends"))],
        supports_check_mode=True,
    )
    try:
        result = ensure_split(connect(module), module.params, check_mode=module.check_mode, diff_mode=module._diff)
    except CoreException as exc:
        module.fail_json(msg=client_error_message(exc, module.params))
    except CanaryError as exc:
        module.fail_json(msg=str(exc), **exc.fields)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
