"""HTTPRoute status for Service parents, written the way a mesh's controller would (GAMMA).

A real mesh accepts an HTTPRoute whose ``parentRefs`` name a Service by adding a
``status.parents`` entry with ``Accepted`` and ``ResolvedRefs`` conditions. On
the local cluster the stand-in does it, so clients that wait for ``Accepted``
(the collection's ``traffic_split`` with ``api: gateway``) see the same thing.
Pure functions; the controller writes the result. The integration tests
(tests/integration/conftest.py) write the same status, and use the two knobs a
misbehaving controller needs: ``reject`` and ``observed_generation``.

``controller_name`` is the ``controllerName`` the entries carry (and the entries the
stand-in owns): by default meshsim's own; a scenario standing in for a particular
mesh passes that mesh's name (``meshsim start --route-controller-name``, e.g.
Linkerd's ``linkerd.io/policy-controller``).
"""

import re

CONTROLLER_NAME = "meshsim.test/mesh-stand-in"
# Gateway API's GatewayController: a domain-prefixed path (the HTTPRoute CRD's pattern and maxLength for
# status.parents[].controllerName); the API server refuses a status write that breaks it
_CONTROLLER_NAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                                      r"/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")
_CONTROLLER_NAME_MAX = 253


def check_controller_name(name):
    """``name`` if it is a valid Gateway API controllerName, else ValueError saying what is wrong."""
    if (not isinstance(name, str) or len(name) > _CONTROLLER_NAME_MAX
            or not _CONTROLLER_NAME_PATTERN.fullmatch(name)):
        raise ValueError("controller name %r is not a Gateway API controllerName: a lowercase domain, '/', a path, "
                         "at most %d characters (e.g. %s or linkerd.io/policy-controller)"
                         % (name, _CONTROLLER_NAME_MAX, CONTROLLER_NAME))
    return name


def _service_parents(route):
    return [p for p in (route.get("spec") or {}).get("parentRefs") or []
            if p.get("kind") == "Service" and p.get("group", "") in ("", "core")]


def _condition(ctype, ok, reason, message, generation, previous, now):
    status = "True" if ok else "False"
    old = {c.get("type"): c for c in previous}.get(ctype) or {}
    same = old.get("status") == status and old.get("reason") == reason
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation,
            "lastTransitionTime": old.get("lastTransitionTime") if same and old.get("lastTransitionTime") else now}


def desired_parents(route, service_names, now, reject=None, observed_generation=None,
                    controller_name=CONTROLLER_NAME):
    """The route's ``status.parents``: other controllers' entries kept, the stand-in's recomputed.

    The stand-in's entries are those with ``controllerName == controller_name``, and new ones get it.

    ``reject`` (a reason): Accepted=False with it for every Service parent, as a controller that refuses
    the route. ``observed_generation``: report that generation instead of the route's current one, as a
    controller that has not seen the latest change.
    """
    generation = (route.get("metadata") or {}).get("generation") or 0
    if observed_generation is not None:
        generation = observed_generation
    current = (route.get("status") or {}).get("parents") or []
    mine = {}
    for entry in current:
        if entry.get("controllerName") == controller_name:
            ref = entry.get("parentRef") or {}
            mine[(ref.get("name"), ref.get("port"))] = entry.get("conditions") or []
    out = [e for e in current if e.get("controllerName") != controller_name]
    backends = [ref.get("name") for rule in (route.get("spec") or {}).get("rules") or []
                for ref in rule.get("backendRefs") or [] if ref.get("kind", "Service") == "Service"]
    missing = sorted(set(b for b in backends if b not in service_names))
    for parent in _service_parents(route):
        previous = mine.get((parent.get("name"), parent.get("port")), [])
        found = parent.get("name") in service_names
        if reject:
            accepted = _condition("Accepted", False, reject, "rejected by the loopback mesh stand-in",
                                  generation, previous, now)
        else:
            accepted = _condition("Accepted", found, "Accepted" if found else "NoMatchingParent",
                                  "accepted by the loopback mesh stand-in" if found
                                  else "Service %s not found" % parent.get("name"), generation, previous, now)
        resolved = _condition("ResolvedRefs", not missing, "ResolvedRefs" if not missing else "BackendNotFound",
                              "all backendRefs resolved" if not missing
                              else "Service(s) not found: %s" % ", ".join(missing), generation, previous, now)
        ref = {"group": "", "kind": "Service", "name": parent.get("name")}
        if parent.get("port") is not None:
            ref["port"] = parent["port"]
        out.append({"parentRef": ref, "controllerName": controller_name, "conditions": [accepted, resolved]})
    return out


def needs_update(route, parents):
    return ((route.get("status") or {}).get("parents") or []) != parents
