#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: minikube
short_description: Ensure a minikube profile with given settings and service-account token projection
version_added: 0.1.0
author:
  - meshlab.canary maintainers (@meshlab)
description:
  - Wraps the C(minikube) CLI. Reads C(minikube profile list --output=json) and C(minikube status --output=json),
    plans one action and runs C(minikube start), C(stop) or C(delete) only when the plan needs it.
  - With O(state=present) the plan is C(create) (no such profile), C(start) (the settings match, but it is not running),
    C(none) (it runs with the settings asked for), C(recreate) (other settings and O(recreate=true); deleted, then
    created) or C(conflict) (other settings; the task fails, lists every difference and changes nothing).
  - Only the settings given are compared (driver, CPUs, memory, Kubernetes version, container runtime) together with
    the C(--extra-config) values this module sets; options minikube adds on its own are ignored.
    O(disk_size) is used when the profile is created and never compared.
  - The token-projection flags are version-aware. C(apiserver.service-account-api-audiences) was removed in
    Kubernetes 1.25 (kubernetes/kubernetes#108624), so from 1.25 on the audiences go to C(apiserver.api-audiences).
  - Before C(minikube start) the module asks minikube which Kubernetes versions it supports
    (C(minikube config defaults kubernetes-version)); a version older than the oldest fails with the fix named
    and nothing changed (minikube v1.37 starts Kubernetes v1.28 and later only, v1.36 v1.20 and later).
extends_documentation_fragment:
  - meshlab.canary._attributes
attributes:
  check_mode:
    support: full
    details: Reads the profile and returns the plan, the commands it would run and the diff; runs none of them.
  diff_mode:
    support: full
    details: Before and after of the compared settings, the managed C(--extra-config) values and the profile state.
  idempotent:
    support: full
    details: A profile that runs with the settings asked for is left alone (C(changed=false)).
options:
  profile:
    description:
      - Name of the minikube profile; also the kubeconfig context minikube writes.
    type: str
    default: minikube
  state:
    description:
      - V(present) makes the profile exist with the settings asked for and run (created or started as needed).
      - V(stopped) stops a running profile; a missing one is left missing. Settings are not compared.
      - V(absent) deletes the profile (also one that minikube lists as invalid).
    type: str
    choices: [present, stopped, absent]
    default: present
  driver:
    description:
      - minikube driver (V(docker), V(podman), V(kvm2), ...). Not given, minikube chooses and the driver is not compared.
    type: str
  cpus:
    description:
      - CPUs of the profile. Not given, minikube chooses and the count is not compared.
    type: int
  memory_mb:
    description:
      - Memory of the profile in MB (passed as C(--memory=<n>mb)). Not given, minikube chooses and it is not compared.
    type: int
  disk_size:
    description:
      - Disk size in minikube's syntax (for example V(20g)); used when the profile is created, never compared.
    type: str
  kubernetes_version:
    description:
      - Kubernetes version, for example V(v1.26.15). Needed when O(service_account.audiences) is given, since the
        audiences flag depends on it.
    type: str
  container_runtime:
    description:
      - Container runtime (V(docker), V(containerd), V(cri-o)). Not given, minikube chooses and it is not compared.
    type: str
  service_account:
    description:
      - Service Account Token Volume Projection settings of the API server, passed as C(--extra-config). Empty values
        are left out, so minikube's defaults apply for them.
    type: dict
    suboptions:
      issuer:
        description: C(apiserver.service-account-issuer).
        type: str
      signing_key_file:
        description: C(apiserver.service-account-signing-key-file).
        type: str
      key_file:
        description: C(apiserver.service-account-key-file).
        type: str
      audiences:
        description:
          - API audiences, passed as C(apiserver.api-audiences) on Kubernetes 1.25 and later and as
            C(apiserver.service-account-api-audiences) before.
        type: list
        elements: str
  extra_config:
    description:
      - Further C(--extra-config) values as C(component.key=value), compared like the token-projection ones.
    type: list
    elements: str
    default: []
  recreate:
    description:
      - Delete and create again a profile whose settings differ. Without it such a profile is a C(conflict).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds C(minikube start --wait=all) may wait for every component. Not given, minikube's own timeout applies.
    type: int
  binary_path:
    description:
      - Path of the minikube binary. Not given, C(minikube) is looked up on C(PATH).
    type: path
notes:
  - A host without a minikube binary has no profile. O(state=absent) and O(state=stopped) then report C(ok), and check
    mode with O(state=present) previews the C(create) (the play may install minikube first); a real run fails.
  - The minikube binary is run with C(MINIKUBE_IN_STYLE=false), so its messages in failures are plain text.
seealso:
  - module: meshlab.canary.minikube_preflight_info
"""

EXAMPLES = r"""
- name: A running profile for the NGINX Service Mesh lab
  meshlab.canary.minikube:
    profile: meshlab
    driver: docker
    cpus: 4
    memory_mb: 8192
    kubernetes_version: v1.26.15
    service_account:
      issuer: kubernetes/serviceaccount
      signing_key_file: /var/lib/minikube/certs/sa.key
      key_file: /var/lib/minikube/certs/sa.pub
      audiences: [api]
    wait_timeout: 900

- name: Replace a profile that was made with other settings
  meshlab.canary.minikube:
    profile: meshlab
    cpus: 2
    memory_mb: 4096
    kubernetes_version: v1.26.15
    recreate: true

- name: Delete the profile
  meshlab.canary.minikube:
    profile: meshlab
    state: absent
"""

RETURN = r"""
action:
  description: The plan that was carried out (or, in check mode, would be).
  returned: always
  type: str
  sample: create
message:
  description: One line saying what the plan is and why.
  returned: always
  type: str
  sample: profile meshlab does not exist; it will be created and started
profile:
  description: The profile name.
  returned: always
  type: str
  sample: meshlab
status:
  description: The profile's state before the task, as minikube reported it (C(absent) when there was none).
  returned: always
  type: str
  sample: host Running, kubelet Running, apiserver Running
drift:
  description: Every difference between the profile and the request (empty unless the plan is C(recreate) or C(conflict)).
  returned: always
  type: list
  elements: str
  sample: ["cpus: profile has 2, wanted 4"]
commands:
  description: The minikube command lines run (in check mode, that would be run).
  returned: always
  type: list
  elements: list
  sample: [["/usr/local/bin/minikube", "start", "--profile=meshlab", "--cpus=4", "--wait=all"]]
minikube_version:
  description: The version of the minikube binary, when it could be read.
  returned: always
  type: str
  sample: v1.36.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshlab.canary.plugins.module_utils._minikube import (
    MinikubeCli,
    MinikubeError,
    ensure_profile,
    preview_without_minikube,
)


def argument_spec():
    return dict(
        profile=dict(type="str", default="minikube"),
        state=dict(type="str", choices=["present", "stopped", "absent"], default="present"),
        driver=dict(type="str"),
        cpus=dict(type="int"),
        memory_mb=dict(type="int"),
        disk_size=dict(type="str"),
        kubernetes_version=dict(type="str"),
        container_runtime=dict(type="str"),
        service_account=dict(type="dict", options=dict(
            issuer=dict(type="str"),
            signing_key_file=dict(type="str"),
            key_file=dict(type="str"),
            audiences=dict(type="list", elements="str"),
        )),
        extra_config=dict(type="list", elements="str", default=[]),
        recreate=dict(type="bool", default=False),
        wait_timeout=dict(type="int"),
        binary_path=dict(type="path"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    binary = params["binary_path"] or module.get_bin_path("minikube")
    if not binary and (module.check_mode or params["state"] != "present"):
        # nothing can exist without the binary; in check mode the play may install it first
        try:
            result = preview_without_minikube(params)
        except MinikubeError as exc:
            module.fail_json(msg=str(exc), **exc.fields)
        if not module._diff:
            result.pop("diff")
        module.exit_json(**result)
    if not binary:
        module.fail_json(msg="minikube was not found on PATH; install it or set binary_path")

    def run(argv):
        return module.run_command(argv, environ_update={"MINIKUBE_IN_STYLE": "false"})

    try:
        result = ensure_profile(MinikubeCli(run, binary), params, check_mode=module.check_mode)
    except MinikubeError as exc:
        fields = dict(exc.fields)
        if not module._diff:
            fields.pop("diff", None)
        module.fail_json(msg=str(exc), **fields)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
