# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Work in progress: sample collection for traffic_ratio."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshlab.canary.plugins.module_utils.errors import CanaryError


def measure_ratio(cluster, params):
    raise CanaryError("traffic_ratio: sample collection is not implemented yet")
