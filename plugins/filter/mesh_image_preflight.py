# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_image_preflight
short_description: Judge the image preflight from the recorded minikube image pull/load results
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Second half of the C(service_mesh) role's image preflight (pure logic).
  - Matches every plan entry (from C(meshlab.canary.mesh_image_plan)) with the registered result of the looped
    C(minikube image pull|load) command and returns one line per image that could not be provided, naming the
    image, its registry, the cause read from the runtime's message (not published, access denied, rate limit,
    registry unreachable, archive unusable) and the ways out.
options:
  _input:
    description: The plan (list of C({image, action, archive})).
    type: list
    elements: dict
    required: true
  results:
    description: C(results) of the registered loop over the plan entries that were not present (loop variable an entry).
    type: list
    elements: dict
    default: []
  cache_dir:
    description: The cache directory, named in the hint about archives.
    type: str
    default: ""
  mirror_var:
    description: The variable that points the images at a mirror, named in the hint.
    type: str
    default: service_mesh_registry_server
  providers:
    description: How the hint names the alternative to this mesh.
    type: str
    default: another mesh provider
"""

EXAMPLES = r"""
- name: Judge the preflight
  ansible.builtin.set_fact:
    verdict: "{{ plan | meshlab.canary.mesh_image_preflight(results=pulls.results, cache_dir=meshlab_cache_dir) }}"
"""

RETURN = r"""
_value:
  description: Mapping with C(ok) (bool), C(problems) (one line per image), C(pulled), C(loaded), C(present) (image lists).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._images import preflight_verdict


def mesh_image_preflight(plan, results=None, cache_dir="", mirror_var="service_mesh_registry_server",
                         providers="another mesh provider"):
    if not isinstance(plan, (list, tuple)) or any(not isinstance(e, dict) or "image" not in e for e in plan):
        raise AnsibleFilterError("mesh_image_preflight: the input must be the plan from meshlab.canary.mesh_image_plan")
    hints = {"cache_dir": cache_dir, "mirror_var": mirror_var, "providers": providers}
    return preflight_verdict(plan, results or [], hints)


class FilterModule(object):
    """meshlab.canary image preflight verdict."""

    def filters(self):
        return {"mesh_image_preflight": mesh_image_preflight}
