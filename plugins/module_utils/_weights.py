# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Pure weight logic: validate, render per API version, read back.

No kubernetes import, no Ansible import: everything here is unit-tested directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from decimal import Decimal, InvalidOperation

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError

SMI_GROUP = "split.smi-spec.io"
SMI_KIND = "TrafficSplit"
SMI_PLURAL = "trafficsplits"
# newest first: the version written when the cluster serves several
SMI_VERSIONS = ("v1alpha4", "v1alpha3", "v1alpha2", "v1alpha1")

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_KIND = "HTTPRoute"
GATEWAY_PLURAL = "httproutes"
GATEWAY_VERSIONS = ("v1", "v1beta1")
GATEWAY_MAX_WEIGHT = 1000000
GATEWAY_MAX_BACKENDS = 16

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate_backends(backends, api="smi"):
    """Check the ``backends`` option and return it as an ordered list of (service, weight).

    Raises CanaryError naming the offending entry and saying how to fix it.
    """
    if not isinstance(backends, (list, tuple)) or not backends:
        raise CanaryError("backends must be a non-empty list of {service, weight}, for example "
                          "[{service: backend-v1, weight: 90}, {service: backend-v2, weight: 10}]")
    if api == "gateway" and len(backends) > GATEWAY_MAX_BACKENDS:
        raise CanaryError("backends has {0} entries; an HTTPRoute rule allows at most {1} backendRefs".format(
            len(backends), GATEWAY_MAX_BACKENDS))
    result = []
    seen = set()
    for index, item in enumerate(backends):
        where = "backends[{0}]".format(index)
        if not isinstance(item, dict):
            raise CanaryError("{0} must be a dict with keys service and weight, got {1!r}".format(where, item))
        service = item.get("service")
        if not isinstance(service, str) or not service.strip():
            raise CanaryError("{0}.service must be the name of a Service, got {1!r}".format(where, service))
        service = service.strip()
        if not _DNS_LABEL.match(service) or len(service) > 63:
            raise CanaryError("{0}.service {1!r} is not a valid Service name (lower-case letters, digits and '-', "
                              "at most 63 characters)".format(where, service))
        if service in seen:
            raise CanaryError("{0}.service {1!r} is listed twice: give each backend Service once".format(
                where, service))
        seen.add(service)
        weight = item.get("weight")
        if not _is_whole(weight):
            raise CanaryError("{0}.weight must be a whole number >= 0, got {1!r} ({2})".format(
                where, weight, type(weight).__name__))
        if weight < 0:
            raise CanaryError("{0}.weight must be >= 0, got {1}".format(where, weight))
        if api == "gateway" and weight > GATEWAY_MAX_WEIGHT:
            raise CanaryError("{0}.weight {1} exceeds the Gateway API maximum of {2}: scale all weights down".format(
                where, weight, GATEWAY_MAX_WEIGHT))
        result.append((service, weight))
    if sum(pair[1] for pair in result) == 0:
        raise CanaryError("all backend weights are zero: at least one backend must get traffic")
    return result


def milli_shares(pairs):
    """Shares in thousandths that add up to exactly 1000 (largest remainder method)."""
    total = sum(pair[1] for pair in pairs)
    raw = [(service, weight * 1000 / total) for service, weight in pairs]
    floors = dict((service, int(value)) for service, value in raw)
    left = 1000 - sum(floors.values())
    order = sorted(raw, key=lambda item: (-(item[1] - int(item[1])), item[0]))
    for service, _share in order[:left]:
        floors[service] += 1
    return floors


def render_smi_backends(pairs, api_version):
    """spec.backends for a TrafficSplit of ``api_version``.

    v1alpha2 and later take integer weights. v1alpha1 takes Kubernetes quantities: the weights are written as
    shares of the total in thousandths ("900m" for 90 of 100), which is how that version's examples read.
    """
    if api_version == "v1alpha1":
        milli = milli_shares(pairs)
        return [{"service": service, "weight": "{0}m".format(milli[service])} for service, _weight in pairs]
    return [{"service": service, "weight": int(weight)} for service, weight in pairs]


_QUANTITY = re.compile(r"^\s*([+-]?[0-9.]+)\s*(m|k|M|G|)\s*$")
_SUFFIX = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(1000), "M": Decimal(1000000), "G": Decimal(10) ** 9}


def parse_weight(value):
    """A weight read from the cluster: int, or a quantity string such as "900m" (-> 0.9) or "90" (-> 90)."""
    if _is_whole(value):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match:
            try:
                number = Decimal(match.group(1)) * _SUFFIX[match.group(2)]
            except InvalidOperation:
                number = None
            if number is not None:
                return int(number) if number == number.to_integral_value() else float(number)
    if value is None:
        return 1  # Gateway API default weight
    raise CanaryError("cannot read the weight {0!r} found in the cluster".format(value))
