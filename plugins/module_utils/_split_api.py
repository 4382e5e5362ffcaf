# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Ensure an SMI TrafficSplit or Gateway API HTTPRoute with given weights.

``ensure_split(cluster, params, ...)`` is the whole traffic_split module behind
its argument spec: ``params`` are the module's validated parameters (every
option present, defaults filled in), used as they are. ``cluster`` is a :class:`_kube.Cluster` or any object with the
same methods (the unit tests use a fake). The order is fixed: validate input,
discover the API, check Services, read, compare, then at most one write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import re
import time

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._weights import (
    GATEWAY_GROUP,
    GATEWAY_KIND,
    GATEWAY_PLURAL,
    GATEWAY_VERSIONS,
    SMI_GROUP,
    SMI_KIND,
    SMI_PLURAL,
    SMI_VERSIONS,
    parse_weight,
    render_smi_backends,
    validate_backends,
)

API = {
    "smi": dict(group=SMI_GROUP, kind=SMI_KIND, plural=SMI_PLURAL, versions=SMI_VERSIONS,
                hint="is the mesh installed?"),
    "gateway": dict(group=GATEWAY_GROUP, kind=GATEWAY_KIND, plural=GATEWAY_PLURAL, versions=GATEWAY_VERSIONS,
                    hint="are the Gateway API CRDs installed?"),
}


def utc_now():
    """RFC 3339 UTC timestamp with microseconds."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def choose_version(api, served, requested=None):
    """The API version to use, from the versions the cluster serves for the kind."""
    info = API[api]
    if requested and "/" in requested:  # also accept the full apiVersion, e.g. split.smi-spec.io/v1alpha3
        group, _sep, requested = requested.partition("/")
        if group != info["group"]:
            raise CanaryError("api_version {0}/{1} is not in the API group {2} of {3}".format(
                group, requested, info["group"], info["kind"]))
    if not served:
        raise CanaryError("{0} {1} is not served by this cluster: {2}".format(info["kind"], info["group"], info["hint"]))
    if requested:
        if requested not in served:
            raise CanaryError("api_version {0} of {1} {2} is not served by this cluster; it serves {3}".format(
                requested, info["kind"], info["group"], ", ".join(served)))
        return requested
    for version in info["versions"]:
        if version in served:
            return version
    raise CanaryError("{0} {1} is served only in versions this module does not know ({2}); set api_version to "
                      "one of them to try it".format(info["kind"], info["group"], ", ".join(served)))


def validate_params(params):
    """Input checks that need no cluster. Returns the backends as (service, weight) pairs or None."""
    name = params.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CanaryError("name must be the name of the split object")
    if params["state"] == "absent":
        return None
    api = params["api"]
    if not params.get("service"):
        raise CanaryError("service (the root Service) is required when state is present")
    pairs = validate_backends(params.get("backends"), api)
    validate_annotations(params.get("annotations"))
    if api == "smi" and params.get("service") in dict(pairs):
        raise CanaryError("the root Service {0} must not also be a backend".format(params.get("service")))
    if api == "gateway":
        port = params["port"]
        if not 1 <= port <= 65535:
            raise CanaryError("port must be a port number 1-65535, got {0!r}".format(port))
        gateway = params.get("gateway")
        if gateway is not None and not (gateway.get("name") or "").strip():
            raise CanaryError("gateway.name must name the Gateway to attach the HTTPRoute to")
        if params["wait_timeout"] < 0:
            raise CanaryError("wait_timeout must be >= 0 seconds, got {0}".format(params["wait_timeout"]))
    return pairs


_ANNOTATION_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_annotations(annotations):
    """The ``annotations`` option (a dict, or None): values str/mapping/list or None; keys as Kubernetes allows
    them (prefix/name)."""
    if annotations is None:
        return
    for key, value in annotations.items():
        prefix, _slash, name = key.rpartition("/") if isinstance(key, str) else ("", "", "")
        if (not isinstance(key, str) or not _ANNOTATION_NAME.match(name) or len(name) > 63
                or (prefix and (not _DNS_SUBDOMAIN.match(prefix) or len(prefix) > 253))):
            raise CanaryError("annotations: {0!r} is not a valid annotation key (an optional DNS prefix and '/', "
                              "then at most 63 letters, digits, '-', '_' or '.'), e.g. meshlab.canary/rollout".format(key))
        if value is not None and not isinstance(value, (str, dict, list)):
            raise CanaryError("annotations[{0}] must be a string, a mapping or a list (written as JSON), or null "
                              "(removes the key); got {1} {2!r}: quote it".format(key, type(value).__name__, value))


def annotation_text(value):
    """An annotation value as written: strings as they are, mappings and lists as compact JSON (sorted keys)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def managed_annotations(obj, keys):
    """The values of ``keys`` among the object's annotations ({} without an object; absent keys left out)."""
    found = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return dict((key, found[key]) for key in keys if key in found)


def _apply_annotations(obj, annotations):
    if not annotations:
        return
    meta = obj.setdefault("metadata", {})
    current = dict(meta.get("annotations") or {})
    for key, value in annotations.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = annotation_text(value)
    if current:
        meta["annotations"] = current
    else:
        meta.pop("annotations", None)


# ---- reading weights back --------------------------------------------------

def smi_weights(obj):
    """Weights of a TrafficSplit as {service: weight}."""
    backends = ((obj or {}).get("spec") or {}).get("backends") or []
    return dict((b.get("service"), parse_weight(b.get("weight"))) for b in backends)


def route_weights(obj):
    """Weights of the first rule of an HTTPRoute as {service: weight} (Service backendRefs only)."""
    rules = ((obj or {}).get("spec") or {}).get("rules") or []
    if not rules:
        return {}
    weights = {}
    for ref in rules[0].get("backendRefs") or []:
        if (ref.get("group") or "") == "" and (ref.get("kind") or "Service") == "Service":
            weights[ref.get("name")] = parse_weight(ref.get("weight"))
    return weights


# ---- desired objects ---------------------------------------------------------

def parent_refs(params):
    """HTTPRoute parentRefs: the named Gateway, or the root Service (GAMMA)."""
    gateway = params.get("gateway")
    if gateway:
        ref = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": gateway["name"]}
        if gateway.get("namespace"):
            ref["namespace"] = gateway["namespace"]
        if gateway.get("section_name"):
            ref["sectionName"] = gateway["section_name"]
        return [ref]
    return [{"group": "", "kind": "Service", "name": params["service"], "port": params["port"]}]


def _norm_parent(ref, namespace):
    return (
        ref.get("group", GATEWAY_GROUP),
        ref.get("kind", "Gateway"),
        ref.get("namespace") or namespace,
        ref.get("name"),
        ref.get("sectionName"),
        ref.get("port"),
    )


def _norm_backend_ref(ref):
    return (ref.get("group") or "", ref.get("kind") or "Service", ref.get("name"), ref.get("port"),
            parse_weight(ref.get("weight")))


def desired_object(params, pairs, api, version, current):
    """The full object to write, starting from ``current`` (kept: metadata, matches, filters, hostnames)."""
    info = API[api]
    name, namespace = params["name"], params["namespace"]
    obj = copy.deepcopy(current) if current else {"metadata": {"name": name, "namespace": namespace}}
    obj["apiVersion"] = "{0}/{1}".format(info["group"], version)
    obj["kind"] = info["kind"]
    obj.pop("status", None)
    spec = obj.setdefault("spec", {})
    if api == "smi":
        spec["service"] = params["service"]
        spec["backends"] = render_smi_backends(pairs, version)
    else:
        port = params["port"]
        refs = [{"group": "", "kind": "Service", "name": service, "port": port, "weight": weight}
                for service, weight in pairs]
        spec["parentRefs"] = parent_refs(params)
        rules = spec.get("rules") or [{}]
        for rule in rules:  # every rule gets the same split
            rule["backendRefs"] = copy.deepcopy(refs)
        spec["rules"] = rules
    _apply_annotations(obj, params.get("annotations"))
    return obj


def needs_change(api, current, desired, namespace):
    """Whether writing ``desired`` would change what routes traffic (server defaults ignored)."""
    if current is None:
        return True
    if current.get("apiVersion") != desired.get("apiVersion"):
        return True
    if ((current.get("metadata") or {}).get("annotations") or {}) != \
            ((desired.get("metadata") or {}).get("annotations") or {}):
        return True
    cur, new = current.get("spec") or {}, desired.get("spec") or {}
    if api == "smi":
        def view(spec):
            return (spec.get("service"),
                    sorted((b.get("service"), parse_weight(b.get("weight"))) for b in spec.get("backends") or []))
        return view(cur) != view(new)

    def gview(spec):
        parents = sorted(_norm_parent(r, namespace) for r in spec.get("parentRefs") or [])
        rules = [sorted(_norm_backend_ref(r) for r in rule.get("backendRefs") or []) for rule in spec.get("rules") or []]
        return parents, rules
    return gview(cur) != gview(new)


# ---- checks against the cluster -----------------------------------------------

def check_services(cluster, params, pairs, api):
    """Fail (listing every missing one) unless the root and all backend Services exist with the port."""
    namespace = params["namespace"]
    wanted = []
    if api == "smi" or not params.get("gateway"):
        wanted.append((params["service"], "root"))
    wanted.extend((pair[0], "backend") for pair in pairs)
    missing, portless = [], []
    port = params["port"]
    for service, role in wanted:
        svc = cluster.get_service(service, namespace)
        if svc is None:
            missing.append("{0} ({1})".format(service, role))
        elif api == "gateway":
            ports = [p.get("port") for p in (svc.get("spec") or {}).get("ports") or []]
            if port not in ports:
                portless.append("{0} (ports {1})".format(service, ", ".join(str(p) for p in ports) or "none"))
    if missing:
        names = [m.split(" ")[0] for m in missing]
        if len(missing) == len(wanted) and not cluster.namespace_exists(namespace):
            raise CanaryError("Namespace {0} does not exist: check the namespace option, or create the namespace "
                              "and its Services ({1}) before the split.".format(namespace, ", ".join(names)),
                              missing_services=names)
        raise CanaryError("Service(s) not found in namespace {0}: {1}. Create them before the split.".format(
            namespace, ", ".join(missing)), missing_services=names)
    if portless:
        raise CanaryError("Service(s) in namespace {0} have no port {1}: {2}. Set port to the Services' port.".format(
            namespace, port, ", ".join(portless)))


def route_acceptance(obj, parents, namespace):
    """(state, detail) of an HTTPRoute: 'accepted', 'rejected' or 'pending' at its current generation."""
    generation = (obj.get("metadata") or {}).get("generation")
    wanted = set(_norm_parent(p, namespace) for p in parents)
    found = []
    for status in (obj.get("status") or {}).get("parents") or []:
        ref = status.get("parentRef") or {}
        if _norm_parent(ref, namespace) not in wanted:
            continue
        for cond in status.get("conditions") or []:
            if cond.get("type") != "Accepted":
                continue
            observed = cond.get("observedGeneration")
            current = generation is None or (observed is not None and observed >= generation)
            found.append((cond.get("status"), current, cond.get("reason"), cond.get("message")))
    if found and all(item[0] == "True" and item[1] for item in found) and len(found) >= len(wanted):
        return "accepted", "Accepted"
    for s, cur, reason, message in found:
        if s == "False" and cur:
            return "rejected", "{0}: {1}".format(reason, message)
    if not found:
        return "pending", "no Accepted condition from the parent yet (is a controller handling this route?)"
    return "pending", "; ".join("Accepted={0} observedGeneration current={1} ({2})".format(s, cur, reason)
                                for s, cur, reason, _msg in found)


def wait_accepted(cluster, params, version, written, timeout, sleep=time.sleep, monotonic=time.monotonic,
                  interval=1.0):
    """Poll until the HTTPRoute is Accepted at its current generation; return the accepted object."""
    namespace = params["namespace"]
    parents = parent_refs(params)
    deadline = monotonic() + timeout
    obj = written
    while True:
        state, detail = route_acceptance(obj or {}, parents, namespace)
        if state == "accepted":
            return obj
        if state == "rejected":
            raise CanaryError("HTTPRoute {0} was written but not accepted: {1}".format(params["name"], detail))
        if monotonic() >= deadline:
            raise CanaryError("HTTPRoute {0} was written but not Accepted at its current generation within {1} s: "
                              "{2}".format(params["name"], timeout, detail))
        sleep(interval)
        obj = cluster.get_object(GATEWAY_GROUP, version, GATEWAY_PLURAL, params["name"], namespace)


def status_only_successor(written, accepted, keys):
    """The accepted object when it differs from ``written`` only by what the route's controller wrote.

    A controller's status write gives the route a new resourceVersion, so the one of our own write is stale
    at once and the caller's next guarded write (``resource_version``) would fail with 409 although nobody
    changed the route. The accepted object's resourceVersion is returned instead, but only while its
    generation (the spec) and the managed annotations are still the ones written; any other change keeps
    the written version, so that the next guarded write still fails on it.
    """
    if not written or not accepted:
        return written
    mine, theirs = written.get("metadata") or {}, accepted.get("metadata") or {}
    if mine.get("generation") != theirs.get("generation"):
        return written
    if managed_annotations(written, keys) != managed_annotations(accepted, keys):
        return written
    return accepted


# ---- the module's one call ------------------------------------------------------

def ensure_split(cluster, params, check_mode=False, diff_mode=False, now=utc_now, sleep=time.sleep,
                 monotonic=time.monotonic):
    """Create, update or delete the split; return the module result."""
    pairs = validate_params(params)
    changed_at = None
    api = params["api"]
    info = API[api]
    state = params["state"]
    name, namespace = params["name"].strip(), params["namespace"]

    served = cluster.served_versions(info["group"], info["plural"])
    if state == "absent" and not served and not params.get("api_version"):
        # the kind does not exist, so neither can the object
        result = dict(changed=False, weights={}, previous_weights=None, api_version=None, kind=info["kind"],
                      changed_at=None, annotations={}, resource_version=None)
        if diff_mode:
            result["diff"] = dict(before={"weights": {}}, after={"weights": {}})
        return result
    version = choose_version(api, served, params.get("api_version"))
    api_version = "{0}/{1}".format(info["group"], version)
    read = smi_weights if api == "smi" else route_weights

    if state == "present":
        check_services(cluster, params, pairs, api)
    current = cluster.get_object(info["group"], version, info["plural"], name, namespace)
    previous = read(current) if current is not None else None

    keys = sorted((params.get("annotations") or {}).keys())
    previous_annotations = managed_annotations(current, keys)

    if state == "absent":
        changed = current is not None
        after = {}
        after_annotations = {}
        written = None
        if changed and not check_mode:
            cluster.delete_object(info["group"], version, info["plural"], name, namespace)
            changed_at = now()
    else:
        expected_rv = params.get("resource_version")
        if expected_rv is not None:
            check_precondition(params, info, namespace, expected_rv, current, previous, previous_annotations,
                               api_version)
        desired = desired_object(params, pairs, api, version, current)
        changed = needs_change(api, current, desired, namespace)
        after = read(desired)
        after_annotations = managed_annotations(desired, keys)
        written = current
        if changed and not check_mode:
            if current is None:
                written = cluster.create_object(info["group"], version, info["plural"], namespace, desired)
            else:
                # resourceVersion from the read (or the one the caller expects): the write fails (409) instead of
                # overwriting a concurrent change
                written = cluster.replace_object(info["group"], version, info["plural"], name, namespace, desired)
            changed_at = now()
        if api == "gateway" and not check_mode:
            # also when nothing changed: a rerun after a timed-out wait must not report success for a route
            # that is still not accepted (an accepted route returns at once)
            timeout = params["wait_timeout"]
            try:
                accepted = wait_accepted(cluster, params, version, written, timeout, sleep=sleep, monotonic=monotonic)
            except CanaryError as exc:
                raise CanaryError(exc.msg, changed=changed, weights=after, previous_weights=previous,
                                  api_version=api_version, kind=info["kind"], changed_at=changed_at,
                                  annotations=after_annotations,
                                  resource_version=((written or {}).get("metadata") or {}).get("resourceVersion"))
            written = status_only_successor(written, accepted, keys)

    result = dict(
        changed=changed,
        weights=after,
        previous_weights=previous,
        api_version=api_version,
        kind=info["kind"],
        changed_at=changed_at,
        annotations=after_annotations,
        resource_version=((written or {}).get("metadata") or {}).get("resourceVersion") if state == "present"
        else None,
    )
    if diff_mode:
        before, after_view = {"weights": previous or {}}, {"weights": after}
        if keys:
            before["annotations"] = previous_annotations
            after_view["annotations"] = after_annotations
        result["diff"] = dict(before=before, after=after_view)
    return result


def check_precondition(params, info, namespace, expected_rv, current, previous, previous_annotations, api_version):
    """Fail with status 409, writing nothing, unless the object is still at ``expected_rv`` ("" = must not exist)."""
    current_rv = ((current or {}).get("metadata") or {}).get("resourceVersion")
    if expected_rv == "" and current is None:
        return
    if expected_rv != "" and current is not None and current_rv == expected_rv:
        return
    found = "does not exist" if current is None else "is at resourceVersion {0}".format(current_rv)
    wanted = "not to exist yet" if expected_rv == "" else "to be at resourceVersion {0}".format(expected_rv)
    raise CanaryError(
        "{0} {1}/{2} was changed by someone else since it was read: expected it {3}, but it {4}. Nothing was "
        "written; read it again and decide anew.".format(info["kind"], namespace, params["name"].strip(), wanted,
                                                         found),
        status=409, conflict=True, changed=False, weights=previous or {}, previous_weights=previous,
        api_version=api_version, kind=info["kind"], changed_at=None, annotations=previous_annotations,
        resource_version=current_rv)
