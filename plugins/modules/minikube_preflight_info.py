#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: minikube_preflight_info
short_description: Probe whether this host can run a minikube lab and resolve its CPUs and memory
version_added: 0.1.0
author:
  - meshlab.canary maintainers (@meshlab)
description:
  - Runs its own read-only probes. The host's CPUs (those this process may use), total and available memory
    (C(/proc/meminfo); C(sysctl)/C(vm_stat) on macOS), the free disk under O(disk_paths) (the nearest existing
    directory of each), the driver (C(docker info), C(podman info), C(virsh list), C(qemu-img --version),
    C(VBoxManage --version)), and minikube, helm and kubectl on C(PATH) with the minikube and helm versions.
  - Judges the facts against the lab's minimums and returns every problem in C(problems), each saying what was found
    and how to fix it, and what needs no action in C(notes). It does not fail on them; the play decides
    (for example C(ansible.builtin.assert) on C(ok)). It fails only when its own input is wrong.
  - Resolves O(driver=auto) to the first usable of O(driver_candidates), and O(cpus=auto) / O(memory_mb=auto) to what
    the host can give. With the docker or podman driver the daemon's CPUs and memory count when they are fewer.
extends_documentation_fragment:
  - meshlab.canary._attributes
  - meshlab.canary._attributes.info_module
options:
  driver:
    description:
      - The minikube driver to check, or V(auto) for the first usable one of O(driver_candidates).
      - A driver without a probe here (V(none), V(ssh), ...) is accepted with a note.
    type: str
    default: auto
  driver_candidates:
    description: Drivers probed, in order, for O(driver=auto), and for the hint when the requested one is not usable.
    type: list
    elements: str
    default: [docker, podman, kvm2, qemu2, virtualbox]
  cpus:
    description:
      - CPUs wanted for the profile, or V(auto) for all the host's CPUs up to O(comfortable_cpus) and never fewer than
        O(min_cpus).
    type: raw
    default: auto
  memory_mb:
    description:
      - Memory in MB wanted for the profile, or V(auto) for half the host's total memory (rounded down to 256 MB) up to
        O(comfortable_memory_mb) and never less than O(min_memory_mb).
    type: raw
    default: auto
  comfortable_cpus:
    description: The most CPUs V(auto) asks for.
    type: int
    default: 4
  comfortable_memory_mb:
    description: The most memory V(auto) asks for, in MB.
    type: int
    default: 8192
  min_cpus:
    description: The fewest CPUs the lab runs on (the tutorial's prerequisite).
    type: int
    default: 2
  min_memory_mb:
    description: The least memory in MB the profile gets and the host must have available (the tutorial's prerequisite).
    type: int
    default: 2048
  min_free_disk_gb:
    description: The least free disk in GB on each filesystem holding one of O(disk_paths).
    type: int
    default: 20
  disk_paths:
    description: Paths whose filesystems need the free disk (minikube keeps its data in C(~/.minikube)).
    type: list
    elements: path
    default: ["~"]
  minikube_version:
    description: The minikube version wanted; another one found is a note (installed when V(minikube) is in O(install)).
    type: str
  helm_version:
    description: The helm version wanted; another one found is a note (installed when V(helm) is in O(install)).
    type: str
  install:
    description:
      - The tools the play installs when they are missing or at another version. A missing tool not listed is a problem.
    type: list
    elements: str
    choices: [minikube, helm, kubectl]
    default: []
  known_versions:
    description:
      - Copies of a tool whose version the caller recorded, by tool name, each as C({path, version}). When the tool
        found on C(PATH) is at that path, the recorded version is reported and the tool is not run (the minikube role
        records the helm it installs this way).
    type: dict
    default: {}
  names:
    description:
      - How the messages name the options, as a mapping from option name to the name the caller knows it by, such as
        the role variable C(minikube_cpus) for O(cpus). Options not listed are named as themselves.
    type: dict
    default: {}
seealso:
  - module: meshlab.canary.minikube
"""

EXAMPLES = r"""
- name: Probe the host
  meshlab.canary.minikube_preflight_info:
    driver: auto
    cpus: auto
    memory_mb: auto
    minikube_version: v1.36.0
    install: [minikube, helm, kubectl]
  register: preflight

- name: The host can run the lab
  ansible.builtin.assert:
    that: preflight.ok
    fail_msg: "{{ preflight.problems | join(' | ') }}"

- name: Start the profile with what the host can give
  meshlab.canary.minikube:
    profile: meshlab
    driver: "{{ preflight.driver }}"
    cpus: "{{ preflight.cpus }}"
    memory_mb: "{{ preflight.memory_mb }}"
"""

RETURN = r"""
ok:
  description: Whether no problem was found.
  returned: always
  type: bool
  sample: true
problems:
  description: What stops the lab, one line each, with the fix.
  returned: always
  type: list
  elements: str
  sample: ["CPUs: minikube_cpus is 4 but the host has only 2; lower minikube_cpus to 2 or less, or set it to auto"]
notes:
  description: What was found that needs no action (tools to be installed, checks that could not be made).
  returned: always
  type: list
  elements: str
  sample: ["helm: not found; v3.19.3 will be installed"]
driver:
  description: The driver to use (O(driver) itself, or the one O(driver=auto) chose); null when none is usable.
  returned: always
  type: str
  sample: docker
cpus:
  description: The CPUs for the profile (O(cpus), or what V(auto) resolved to).
  returned: always
  type: int
  sample: 2
memory_mb:
  description: The memory in MB for the profile (O(memory_mb), or what V(auto) resolved to).
  returned: always
  type: int
  sample: 4096
host:
  description: The host's facts (C(system), C(cpus), C(memory_total_mb), C(memory_available_mb); null when unknown).
  returned: always
  type: dict
  sample: {system: Linux, cpus: 2, memory_total_mb: 7940, memory_available_mb: 6120}
disks:
  description: For each of O(disk_paths), the directory checked and its free space (C(free_gb), null when unknown).
  returned: always
  type: list
  elements: dict
  sample: [{path: /home/me, checked_path: /home/me, free_bytes: 53687091200, free_gb: 50.0}]
drivers:
  description: The driver probes in order, with C(usable), C(detail) and, for docker and podman, C(cpus) and C(memory_mb).
  returned: always
  type: list
  elements: dict
  sample: [{name: docker, usable: true, probed: true, detail: docker 28.4.0, cpus: 2, memory_mb: 7940}]
tools:
  description: minikube, helm and kubectl as found on C(PATH), each with C(found), C(path) and C(version).
  returned: always
  type: dict
  sample: {minikube: {found: true, path: /home/me/.local/bin/minikube, version: v1.36.0}}
"""

import platform

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.meshlab.canary.plugins.module_utils._minikube import MinikubeError
from ansible_collections.meshlab.canary.plugins.module_utils._minikube_preflight import probe_host


def argument_spec():
    return dict(
        driver=dict(type="str", default="auto"),
        driver_candidates=dict(type="list", elements="str", default=["docker", "podman", "kvm2", "qemu2", "virtualbox"]),
        cpus=dict(type="raw", default="auto"),
        memory_mb=dict(type="raw", default="auto"),
        comfortable_cpus=dict(type="int", default=4),
        comfortable_memory_mb=dict(type="int", default=8192),
        min_cpus=dict(type="int", default=2),
        min_memory_mb=dict(type="int", default=2048),
        min_free_disk_gb=dict(type="int", default=20),
        disk_paths=dict(type="list", elements="path", default=["~"]),
        minikube_version=dict(type="str"),
        helm_version=dict(type="str"),
        install=dict(type="list", elements="str", choices=["minikube", "helm", "kubectl"], default=[]),
        known_versions=dict(type="dict", default={}),
        names=dict(type="dict", default={}),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)

    def run(argv):
        return module.run_command(argv)

    def which(name):
        return module.get_bin_path(name)

    try:
        result = probe_host(module.params, run, which, platform.system())
    except MinikubeError as exc:
        module.fail_json(msg=str(exc), **exc.fields)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
