"""Waiting for the API server to catch up, without start-up races.

A freshly created object has no ``status`` (no ``conditions``) until its controller writes one, and a
cold API server on a loaded machine can take seconds to do so; ``kubectl wait --for=condition=...``
fails at once on such an object instead of waiting. These helpers poll the condition itself, read an
absent status as "not yet", and fail with what they waited for and what they saw last.

All readers take a ``kubernetes.client.ApiClient``; every wait is bounded by ``timeout`` seconds.
"""

import time

from kubernetes import client
from kubernetes.client.rest import ApiException


class WaitTimeout(AssertionError):
    """A bounded wait ran out; the message says what was awaited and the last thing seen."""


def wait_until(what, predicate, timeout=60.0, interval=0.25):
    """Poll ``predicate()`` until it returns a truthy value, and return that value.

    ``predicate`` may return ``(False, detail)``-style falsy values or raise ``ApiException`` with 404
    (the object is not there yet): both mean "not yet". After ``timeout`` seconds, raise
    :class:`WaitTimeout` naming ``what`` and the last falsy value or error seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
        except ApiException as exc:
            if exc.status != 404:
                raise
            value, last = None, "404 Not Found"
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise WaitTimeout("timed out after {0} s waiting for {1} (last seen: {2!r})".format(timeout, what, last))
        time.sleep(interval)


def _get(obj, key):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def has_condition(obj, cond_type, status="True", generation=None):
    """True when ``obj.status.conditions`` holds ``cond_type`` with ``status``.

    Works on dicts (custom objects) and on the client's models; an object without a status or without
    conditions is simply "not yet". With ``generation``, a condition that carries an
    ``observedGeneration`` older than it does not count (it describes an earlier spec).
    """
    for cond in _get(_get(obj, "status"), "conditions") or []:
        if _get(cond, "type") != cond_type or _get(cond, "status") != status:
            continue
        observed = _get(cond, "observedGeneration") if isinstance(cond, dict) else _get(cond, "observed_generation")
        if generation is not None and observed is not None and observed < generation:
            continue
        return True
    return False


def read_or_none(read, *args):
    """``read(*args)``, or None on 404."""
    try:
        return read(*args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


# ---- CRDs -----------------------------------------------------------------------------------

def served_versions(api, group, plural):
    """The versions of ``group`` whose discovery document lists ``plural`` (what a module's discovery sees)."""
    served = []
    for item in client.ApisApi(api).get_api_versions().groups or []:
        if item.name != group:
            continue
        for ver in item.versions or []:
            resources = client.CustomObjectsApi(api).get_api_resources(group, ver.version).resources or []
            if any(res.name == plural for res in resources):
                served.append(ver.version)
    return served


def _crd_parts(name):
    plural, group = name.split(".", 1)
    return group, plural


def crd_ready(api, name, timeout=60.0):
    """Wait until CRD ``name`` is Established *and* discovery serves every version it declares as served."""
    ext = client.ApiextensionsV1Api(api)
    group, plural = _crd_parts(name)

    def ready():
        crd = read_or_none(ext.read_custom_resource_definition, name)
        if crd is None or crd.metadata.deletion_timestamp or not has_condition(crd, "Established"):
            return False
        wanted = set(v.name for v in crd.spec.versions if v.served)
        return wanted <= set(served_versions(api, group, plural))

    wait_until("CRD {0} Established and served".format(name), ready, timeout=timeout)


def crd_gone(api, name, timeout=90.0):
    """Wait until CRD ``name`` no longer exists (not merely terminating) and discovery no longer serves it."""
    ext = client.ApiextensionsV1Api(api)
    group, plural = _crd_parts(name)
    wait_until("CRD {0} deleted".format(name),
               lambda: read_or_none(ext.read_custom_resource_definition, name) is None, timeout=timeout)
    wait_until("{0} no longer served".format(name), lambda: not served_versions(api, group, plural), timeout=timeout)


def apply_crd(api, body, timeout=60.0):
    """Create or replace the CRD ``body`` (a dict) and wait until it is Established and served.

    A CRD that is still terminating from an earlier deletion is awaited first: replacing it would be
    undone when the deletion completes. Returns True when this call created it.
    """
    ext = client.ApiextensionsV1Api(api)
    name = body["metadata"]["name"]
    current = read_or_none(ext.read_custom_resource_definition, name)
    if current is not None and current.metadata.deletion_timestamp:
        wait_until("terminating CRD {0} gone".format(name),
                   lambda: read_or_none(ext.read_custom_resource_definition, name) is None, timeout=90)
        current = None
    created = current is None
    if created:
        try:
            ext.create_custom_resource_definition(body)
        except ApiException as exc:
            if exc.status != 409:  # created meanwhile by a concurrent caller: fine, wait for it below
                raise
            created = False
    else:
        body = dict(body, metadata=dict(body["metadata"], resourceVersion=current.metadata.resource_version))
        ext.replace_custom_resource_definition(name, body)
    crd_ready(api, name, timeout=timeout)
    return created


def delete_crd(api, name, timeout=90.0):
    """Delete CRD ``name`` (absent is fine) and wait until it is gone and no longer served."""
    ext = client.ApiextensionsV1Api(api)
    try:
        ext.delete_custom_resource_definition(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    crd_gone(api, name, timeout=timeout)


# ---- workloads ------------------------------------------------------------------------------

def namespace_ready(api, namespace, timeout=60.0):
    """Wait until ``namespace`` exists, is Active and has its ``default`` ServiceAccount (pods need it)."""
    core = client.CoreV1Api(api)

    def ready():
        ns = read_or_none(core.read_namespace, namespace)
        if ns is None or (ns.status and ns.status.phase != "Active"):
            return False
        return read_or_none(core.read_namespaced_service_account, "default", namespace) is not None

    wait_until("namespace {0} Active with its default ServiceAccount".format(namespace), ready, timeout=timeout)


def deployment_available(api, namespace, name, timeout=120.0):
    """Wait until Deployment ``name`` has rolled out its current spec: the controller observed this
    generation, every replica is updated and available, and the Available condition is True."""
    apps = client.AppsV1Api(api)

    def available():
        dep = read_or_none(apps.read_namespaced_deployment, name, namespace)
        if dep is None or dep.status is None:
            return False
        want = dep.spec.replicas if dep.spec.replicas is not None else 1
        st = dep.status
        return ((st.observed_generation or 0) >= dep.metadata.generation
                and (st.updated_replicas or 0) == want and (st.available_replicas or 0) == want
                and (st.replicas or 0) == want and has_condition(dep, "Available"))

    wait_until("Deployment {0}/{1} Available".format(namespace, name), available, timeout=timeout)


def pods_ready(api, namespace, selector, count=None, timeout=120.0):
    """Wait until the pods matching ``selector`` (not terminating) are all Running and Ready, and there
    are ``count`` of them (at least one when ``count`` is None). Returns the pods."""
    core = client.CoreV1Api(api)

    def ready():
        pods = [p for p in core.list_namespaced_pod(namespace, label_selector=selector).items
                if p.metadata.deletion_timestamp is None]
        if not pods or (count is not None and len(pods) != count):
            return False
        if all(p.status.phase == "Running" and has_condition(p, "Ready") for p in pods):
            return pods
        return False

    return wait_until("pods {0} in {1} Ready".format(selector, namespace), ready, timeout=timeout)


def custom_object_condition(api, group, version, namespace, plural, name, cond_type, timeout=60.0, status="True"):
    """Wait until a namespaced custom object carries condition ``cond_type`` at its current generation,
    either in ``status.conditions`` or in any ``status.parents[].conditions`` (Gateway API routes)."""
    custom = client.CustomObjectsApi(api)

    def met():
        obj = read_or_none(custom.get_namespaced_custom_object, group, version, namespace, plural, name)
        if obj is None:
            return False
        generation = obj["metadata"].get("generation")
        if has_condition(obj, cond_type, status, generation):
            return obj
        for parent in (obj.get("status") or {}).get("parents") or []:
            if has_condition({"status": parent}, cond_type, status, generation):
                return obj
        return False

    return wait_until("{0} {1}/{2} {3}={4}".format(plural, namespace, name, cond_type, status), met, timeout=timeout)


def gone(what, read, *args, timeout=90.0):
    """Wait until ``read(*args)`` answers 404."""
    wait_until("{0} gone".format(what), lambda: read_or_none(read, *args) is None, timeout=timeout)
