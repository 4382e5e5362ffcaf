"""Pure routing model of the stand-in mesh: API objects in, a routing table per host out.

Objects are the API's JSON dicts (camelCase keys), as listed from the apiserver.
No I/O here, so every rule is unit-tested without a cluster; ``envoyconf``
renders the tables into Envoy configuration (Envoy does the per-request choice).
"""

import collections
import fractions

from . import faults

SPLIT_GROUP = "split.smi-spec.io"
SPLIT_PLURAL = "trafficsplits"
GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_PLURAL = "httproutes"

# source: what the weights come from; weights: {service: Fraction >= 0}, insertion ordered
Table = collections.namedtuple("Table", "root source weights")


class RouteError(Exception):
    """No backend can answer; carries the HTTP status the proxy should return."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _meta(obj):
    return obj.get("metadata") or {}


def selector_matches(selector, labels):
    """Service-style equality selector; an empty selector selects nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod):
    """Running, Ready and not terminating."""
    if _meta(pod).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def host_forms(name, namespace):
    """The names a client may use for Service (or Gateway) ``name``: bare, ``.ns``, ``.ns.svc``, FQDN."""
    base = name.lower()
    return [base, "%s.%s" % (base, namespace), "%s.%s.svc" % (base, namespace),
            "%s.%s.svc.cluster.local" % (base, namespace)]


def service_name_from_host(host, namespace):
    """``backend-svc``, ``backend-svc:80`` or ``backend-svc.<ns>[.svc[.cluster.local]]`` -> name."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        return None
    host = host.split(":", 1)[0].rstrip(".")
    parts = host.split(".")
    if len(parts) == 1:
        return parts[0]
    if parts[1] != namespace:
        return None
    if parts[2:] in ([], ["svc"], ["svc", "cluster", "local"]):
        return parts[0]
    return None


def parse_weight(value, where):
    """A split weight as a Fraction: an integer (SMI v1alpha2+, Gateway API) or a quantity ('900m', v1alpha1)."""
    if isinstance(value, bool):
        raise RouteError(502, "%s: weight %r is not a number" % (where, value))
    if value is None:
        return fractions.Fraction(0)
    try:
        if isinstance(value, int):
            weight = fractions.Fraction(value)
        else:
            text = str(value).strip()
            weight = fractions.Fraction(text[:-1]) / 1000 if text.endswith("m") else fractions.Fraction(text)
    except (ValueError, ZeroDivisionError) as exc:
        raise RouteError(502, "%s: weight %r is not a number or quantity" % (where, value)) from exc
    if weight < 0:
        raise RouteError(502, "%s: weight %r is negative" % (where, value))
    return weight


def _oldest(objs):
    return sorted(objs, key=lambda o: (_meta(o).get("creationTimestamp") or "", _meta(o).get("name") or ""))


def _service_parents(route):
    return [p for p in (route.get("spec") or {}).get("parentRefs") or []
            if p.get("kind") == "Service" and p.get("group", "") in ("", "core")]


def gateway_parents(route):
    """parentRefs naming a Gateway (the Gateway API defaults: group gateway.networking.k8s.io, kind Gateway)."""
    return [p for p in (route.get("spec") or {}).get("parentRefs") or []
            if p.get("kind", "Gateway") == "Gateway" and p.get("group", GATEWAY_GROUP) == GATEWAY_GROUP]


def route_backend_weights(route):
    """``{service: Fraction}`` of an HTTPRoute's first rule (Service backendRefs; weight default 1)."""
    where = "HTTPRoute/%s" % _meta(route).get("name")
    rules = (route.get("spec") or {}).get("rules") or [{}]
    weights = collections.OrderedDict()
    for ref in rules[0].get("backendRefs") or []:
        if ref.get("kind", "Service") != "Service" or ref.get("group", "") not in ("", "core"):
            continue
        weights[ref["name"]] = parse_weight(ref.get("weight", 1), where)
    return weights


def split_weights(root, splits, routes):
    """Weights for root Service ``root``: ``(source, {service: weight})`` or ``(None, None)``.

    A TrafficSplit whose ``spec.service`` is ``root`` wins (the oldest, if
    several; any served version: integer or quantity weights); else an
    HTTPRoute with a ``parentRefs`` entry of kind Service named ``root`` (GAMMA;
    its first rule's ``backendRefs``, weight default 1).
    """
    for ts in _oldest([s for s in splits if (s.get("spec") or {}).get("service") == root]):
        where = "TrafficSplit/%s" % _meta(ts).get("name")
        weights = collections.OrderedDict()
        for backend in ts["spec"].get("backends") or []:
            weights[backend["service"]] = parse_weight(backend.get("weight", 0), where)
        return where, weights
    for route in _oldest(routes):
        if any(p.get("name") == root for p in _service_parents(route)):
            return "HTTPRoute/%s" % _meta(route).get("name"), route_backend_weights(route)
    return None, None


def gateway_tables(routes, namespace, service_names):
    """Routing behind Gateway parents: ``[(name, domains, Table or RouteError)]``.

    An HTTPRoute attached to a Gateway serves the Hosts in its ``hostnames``;
    without hostnames it serves requests addressed to the Gateway itself
    (``<gateway>[.<namespace>[.svc[.cluster.local]]]``, the stand-in's convention
    for a Gateway's address). The oldest route wins a host. Hosts that name a
    Service of the namespace stay the mesh's (a client calling the Service does
    not pass through a Gateway).
    """
    taken = set()
    for name in service_names:
        taken.update(host_forms(name, namespace))
    out = []
    for route in _oldest(routes):
        parents = gateway_parents(route)
        if not parents:
            continue
        source = "HTTPRoute/%s" % _meta(route).get("name")
        hostnames = [h.lower() for h in (route.get("spec") or {}).get("hostnames") or []]
        if not hostnames:
            for parent in parents:
                hostnames.extend(host_forms(parent["name"], parent.get("namespace") or namespace))
        domains = []
        for host in hostnames:
            if host not in taken:
                taken.add(host)
                domains.append(host)
        if not domains:
            continue
        try:
            table = Table(None, source, route_backend_weights(route))
        except RouteError as exc:
            table = exc
        out.append((source, domains, table))
    return out


class Snapshot:
    """What the data plane knows at one moment: API objects of one namespace plus local ports."""

    def __init__(self, namespace, services=(), pods=(), splits=(), routes=(), ports=None):
        self.namespace = namespace
        self.services = collections.OrderedDict(sorted((_meta(s)["name"], s) for s in services))
        self.pods = list(pods)
        self.splits = list(splits)
        self.routes = list(routes)
        self.ports = dict(ports or {})  # pod name -> local nginx port

    def endpoints(self, service_name):
        """Pod names behind a Service: selector match, Ready, with a local process."""
        svc = self.services.get(service_name)
        if svc is None:
            return []
        selector = (svc.get("spec") or {}).get("selector")
        return sorted(
            _meta(p)["name"] for p in self.pods
            if selector_matches(selector, _meta(p).get("labels")) and pod_ready(p)
            and _meta(p)["name"] in self.ports)

    def pod(self, name):
        for p in self.pods:
            if _meta(p).get("name") == name:
                return p
        return None

    def table(self, root, switches):
        """The routing table for root Service ``root`` under fault ``switches``.

        Raises RouteError (bad weights, unknown Service) or faults.SwitchError (bad annotation).
        """
        svc = self.services.get(root)
        if svc is None:
            raise RouteError(502, "no Service %r in namespace %r" % (root, self.namespace))
        annotations = _meta(svc).get("annotations") or {}
        override = faults.route_weights(annotations)
        if faults.misroute(annotations, switches):
            return Table(root, "misroute:uniform", collections.OrderedDict([(root, fractions.Fraction(1))]))
        if override is not None:
            return Table(root, "misroute:route-weights",
                         collections.OrderedDict((s, fractions.Fraction(w)) for s, w in override.items()))
        source, weights = split_weights(root, self.splits, self.routes)
        if weights is None:
            return Table(root, "service", collections.OrderedDict([(root, fractions.Fraction(1))]))
        return Table(root, source, weights)

    def gateway_tables(self):
        return gateway_tables(self.routes, self.namespace, list(self.services))

    def leak(self, root):
        """``(annotation value, service, count)`` of the root Service's leak switch, or None."""
        svc = self.services.get(root)
        return faults.leak(_meta(svc).get("annotations")) if svc is not None else None
