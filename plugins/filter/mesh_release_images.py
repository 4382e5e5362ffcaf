# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mesh_release_images
short_description: List the container images a rendered Helm release pulls
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Reads the manifests of a release (C(helm template) output after the post-renderers) and returns every image
    of every pod template (containers, init and ephemeral containers) plus the images an NGINX Service Mesh
    C(meshconfig.json) tells the sidecar injector to add (C(registry.sidecarImage), C(registry.sidecarInitImage)).
  - Helm does not pass hooks through post-renderers, so hook images are read from a second rendering (O(hooks))
    that includes the hooks; only documents annotated C(helm.sh/hook) are taken from it.
options:
  _input:
    description: Multi-document YAML of the (post-rendered) release manifests, or a list of such texts.
    type: raw
    required: true
  hooks:
    description: A rendering that includes the hooks (C(helm template) without C(--no-hooks)); omit for none.
    type: raw
"""

EXAMPLES = r"""
- name: The images of the release
  ansible.builtin.set_fact:
    images: "{{ post_rendered.stdout | meshlab.canary.mesh_release_images(hooks=with_hooks.stdout) | map(attribute='image') | list }}"
"""

RETURN = r"""
_value:
  description: List of C({image, sources, hook}) sorted by image; C(sources) names the objects and containers, C(hook) is true when only hooks use it.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._images import release_images


def mesh_release_images(manifests, hooks=None):
    try:
        return release_images(manifests, hooks)
    except Exception as exc:  # a YAML error names the document; anything else is a bug worth showing
        raise AnsibleFilterError("mesh_release_images: cannot read the rendered manifests: %s" % exc)


class FilterModule(object):
    """meshlab.canary release images."""

    def filters(self):
        return {"mesh_release_images": mesh_release_images}
