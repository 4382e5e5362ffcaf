# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This doc fragment is PRIVATE to the meshlab.canary collection: it is meant for the collection's own
# modules and may change or disappear in any release.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes every meshlab.canary module documents, in one wording.

    A module extends ``meshlab.canary._attributes`` and states its own ``support`` (and ``details``);
    a read-only module extends ``meshlab.canary._attributes.info_module`` instead of stating them.
    """

    # Descriptions only; each module sets support (and details) itself.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: With C(--check) the module reports whether it would change something, and changes nothing.
  diff_mode:
    description: With C(--diff) the module returns what it changes, or would change in check mode, as before and after.
  idempotent:
    description: A second run with the same arguments, right after the first, reports no change and changes nothing.
"""

    # A module that only reads: check mode is a normal run, there is no diff, and every run is a no-op.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs the same way in check mode.
  diff_mode:
    support: N/A
    details: The module only reads, so there is no before and after.
  idempotent:
    support: full
    details: The module only reads and never reports a change.
"""

    # Members of the meshlab.canary.k8s action group (meta/runtime.yml).
    ACTIONGROUP_K8S = r"""
options: {}
attributes:
  action_group:
    description:
      - Takes C(module_defaults) given for C(group/meshlab.canary.k8s). That group also holds every module of
        C(group/kubernetes.core.k8s) and C(group/kubernetes.core.helm), so one entry sets the connection options
        (O(kubeconfig), O(context), ...) for all of them.
    support: full
    membership:
      - meshlab.canary.k8s
"""
