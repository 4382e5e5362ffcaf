# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_image_plan
short_description: Decide per image whether the cluster has it, loads it from an archive, or pulls it
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - First half of the C(service_mesh) role's image preflight (pure logic; the role runs the commands).
  - An image listed by C(minikube image ls) is C(present); else one whose archive (C(images/<name>.tar) in the
    cache directory, named as returned in C(archive_name)) exists is C(load)ed; else it is C(pull)ed.
options:
  _input:
    description: Image references, or the entries returned by C(meshlab.canary.mesh_release_images).
    type: list
    elements: raw
    required: true
  listed:
    description: Output of C(minikube image ls) (one reference per line, or its C(--format json)).
    type: str
    default: ""
  archives:
    description: Paths of the image archives present in the cache directory.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan the preflight
  ansible.builtin.set_fact:
    plan: "{{ images | meshlab.canary.mesh_image_plan(listed=image_ls.stdout, archives=found.files | map(attribute='path')) }}"
"""

RETURN = r"""
_value:
  description: List of C({image, action, archive, archive_name}); C(action) is C(present), C(load) or C(pull).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._images import archive_name, image_plan


def mesh_image_plan(images, listed="", archives=None):
    if not isinstance(images, (list, tuple)):
        raise AnsibleFilterError("mesh_image_plan: the input must be a list of images, got %s" % type(images).__name__)
    plan = image_plan(images, listed or "", list(archives or []))
    for entry in plan:
        entry["archive_name"] = archive_name(entry["image"])
    return plan


class FilterModule(object):
    """meshlab.canary image preflight plan."""

    def filters(self):
        return {"mesh_image_plan": mesh_image_plan}
