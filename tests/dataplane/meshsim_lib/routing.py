"""Pure routing model of the stand-in mesh: API objects in, a routing decision out.

Objects are the API's JSON dicts (camelCase keys), as listed from the apiserver.
No I/O here, so every rule is unit-tested without a cluster.
"""

import collections

from . import faults

TRAFFIC_SPLIT = ("split.smi-spec.io", "v1alpha3", "trafficsplits")
HTTP_ROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")

Choice = collections.namedtuple("Choice", "service weight pods")
Table = collections.namedtuple("Table", "root source choices")
Decision = collections.namedtuple("Decision", "root service pod port fault source")


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


def _oldest(objs):
    return sorted(objs, key=lambda o: (_meta(o).get("creationTimestamp") or "", _meta(o).get("name") or ""))


def split_weights(root, splits, routes):
    """Weights for root Service ``root``: ``(source, {service: weight})`` or ``(None, None)``.

    A TrafficSplit whose ``spec.service`` is ``root`` wins (the oldest, if
    several); else an HTTPRoute with a ``parentRefs`` entry of kind Service named
    ``root`` (its first rule's ``backendRefs``, weight default 1).
    """
    for ts in _oldest([s for s in splits if (s.get("spec") or {}).get("service") == root]):
        weights = collections.OrderedDict()
        for backend in ts["spec"].get("backends") or []:
            weights[backend["service"]] = int(backend.get("weight", 0))
        return "TrafficSplit/%s" % _meta(ts).get("name"), weights
    for route in _oldest(routes):
        spec = route.get("spec") or {}
        parents = [p for p in spec.get("parentRefs") or []
                   if p.get("kind") == "Service" and p.get("group", "") in ("", "core") and p.get("name") == root]
        if not parents:
            continue
        rules = spec.get("rules") or [{}]
        weights = collections.OrderedDict()
        for ref in rules[0].get("backendRefs") or []:
            if ref.get("kind", "Service") != "Service":
                continue
            weights[ref["name"]] = int(ref.get("weight", 1))
        return "HTTPRoute/%s" % _meta(route).get("name"), weights
    return None, None


class Snapshot:
    """What the router knows at one moment: API objects of one namespace plus local ports."""

    def __init__(self, namespace, services=(), pods=(), splits=(), routes=(), ports=None):
        self.namespace = namespace
        self.services = {_meta(s)["name"]: s for s in services}
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
        """The routing table for root Service ``root`` under fault ``switches``."""
        svc = self.services.get(root)
        if svc is None:
            raise RouteError(502, "no Service %r in namespace %r" % (root, self.namespace))
        annotations = _meta(svc).get("annotations") or {}
        override = faults.route_weights(annotations)
        if faults.misroute(annotations, switches):
            return Table(root, "misroute:uniform", [Choice(root, 1, self.endpoints(root))])
        if override is not None:
            return Table(root, "misroute:route-weights", [Choice(s, w, self.endpoints(s)) for s, w in override.items()])
        source, weights = split_weights(root, self.splits, self.routes)
        if weights is None:
            return Table(root, "service", [Choice(root, 1, self.endpoints(root))])
        return Table(root, source, [Choice(s, w, self.endpoints(s)) for s, w in weights.items()])

    def leak(self, root):
        """``(annotation value, service, count)`` of the root Service's leak switch, or None."""
        svc = self.services.get(root)
        return faults.leak(_meta(svc).get("annotations")) if svc is not None else None

    def decide(self, root, rng, switches, force_service=None):
        """Pick a backend Service by weight (or ``force_service``), then one of its ready pods uniformly."""
        table = self.table(root, switches)
        if force_service is not None:
            table = Table(root, "leak", [Choice(force_service, 1, self.endpoints(force_service))])
        live = [c for c in table.choices if c.weight > 0]
        if not live:
            raise RouteError(503, "every backend of %s has weight 0 (%s)" % (root, table.source))
        choice = rng.choices(live, weights=[c.weight for c in live])[0]
        if not choice.pods:
            raise RouteError(503, "no ready endpoint for %s (picked by %s)" % (choice.service, table.source))
        pod_name = rng.choice(choice.pods)
        fault = faults.backend_fault(self.pod(pod_name), self.services.values(), switches)
        return Decision(root, choice.service, pod_name, self.ports[pod_name], fault, table.source)
