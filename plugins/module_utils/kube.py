# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The only place where meshlab.canary talks to the kubernetes Python client.

``connect(params)`` builds a client with kubernetes.core's own connection code
(same options, same environment variables, same kubeconfig handling) and wraps
it in :class:`Cluster`, a small adapter with exactly the calls the logic in
``split_api`` and ``ratio_source`` needs. Unit tests replace it with a fake
object that has the same methods, so the logic is tested without a cluster.
Every client or transport error is turned into a CanaryError with a message
that says what to check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import traceback

from ansible_collections.meshlab.canary.plugins.module_utils.errors import CanaryError

try:
    import kubernetes
    from kubernetes.client.rest import ApiException
    from kubernetes.stream import stream as k8s_stream

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # pylint: disable=missing-class-docstring
        status = None

try:
    import urllib3

    TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
except ImportError:
    TRANSPORT_ERRORS = (OSError,)

AUTH_KEYS = (
    "kubeconfig",
    "context",
    "host",
    "api_key",
    "username",
    "password",
    "validate_certs",
    "ca_cert",
    "client_cert",
    "client_key",
    "proxy",
    "no_proxy",
    "proxy_headers",
    "persist_config",
    "impersonate_user",
    "impersonate_groups",
)


def _where(params):
    parts = []
    if params.get("kubeconfig"):
        parts.append("the kubeconfig option")  # no_log: may hold credentials, never echoed
    for key in ("context", "host"):
        if params.get(key):
            parts.append("{0}={1}".format(key, params.get(key)))
    return ", ".join(parts) or "default kubeconfig or in-cluster config"


def _transport_reason(exc):
    reason = getattr(exc, "reason", None)  # urllib3 MaxRetryError wraps the real cause
    return str(reason if reason is not None else exc)


def api_error_message(exc, what):
    """A one-line message for an ApiException raised while doing ``what``."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or ""
    detail = ""
    body = getattr(exc, "body", None)
    if body:
        try:
            import json

            detail = json.loads(body).get("message", "")
        except (ValueError, AttributeError, TypeError):
            detail = str(body)[:300]
    if status == 401:
        hint = "the credentials were rejected: check api_key, client certificate or kubeconfig user"
    elif status == 403:
        hint = "forbidden: the user needs RBAC permission for this"
    elif status == 409:
        hint = "the object was changed by someone else meanwhile: run the task again"
    else:
        hint = "HTTP {0} {1}".format(status, reason).strip()
    msg = "Kubernetes API error while {0}: {1}".format(what, hint)
    if detail:
        msg += " ({0})".format(detail)
    return msg


def _describe(what, args):
    try:
        return what.format(*args)
    except (IndexError, KeyError):
        return what.split(" {")[0]


def _translating(what):
    """Decorator: turn client errors of a Cluster method into CanaryError."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            try:
                return func(self, *args, **kwargs)
            except CanaryError:
                raise
            except ApiException as exc:
                raise CanaryError(api_error_message(exc, _describe(what, args)), status=getattr(exc, "status", None))
            except TRANSPORT_ERRORS as exc:
                raise CanaryError(
                    "cannot reach the Kubernetes API at {0} while {1}: {2}. Check kubeconfig, context and host, "
                    "and that the cluster is running.".format(self.host, _describe(what, args), _transport_reason(exc))
                )

        return wrapper

    return decorator


def connect(params):
    """Build a :class:`Cluster` from the module's kubernetes.core auth options."""
    if not HAS_KUBERNETES:
        raise CanaryError("the kubernetes Python library is required", exception=KUBERNETES_IMPORT_ERROR)
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client

    auth = dict((key, params.get(key)) for key in AUTH_KEYS if params.get(key) is not None)
    try:
        k8s = get_api_client(**auth)
    except TRANSPORT_ERRORS as exc:  # the client asks the server for its version while it is built
        raise CanaryError(
            "cannot reach the Kubernetes API ({0}): {1}. Check kubeconfig, context and host, and that the cluster "
            "is running.".format(_where(params), _transport_reason(exc))
        )
    except Exception as exc:  # kubeconfig missing/invalid, unknown context, bad certificate path ...
        raise CanaryError(
            "cannot configure the Kubernetes client ({0}): {1}. Check kubeconfig, context and host.".format(
                _where(params), str(exc).rstrip(". ")
            )
        )
    return Cluster(k8s.configuration, k8s.client.client)


class Cluster(object):
    """Adapter over the kubernetes client: plain dicts in, plain dicts and strings out."""

    def __init__(self, configuration, api_client):
        self.configuration = configuration
        self.host = getattr(configuration, "host", "?")
        self.api_client = api_client
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self._exec_core = None

    # ---- discovery -------------------------------------------------
    @_translating("discovering the API group {0}")
    def served_versions(self, group, plural):
        """Versions of ``group`` that serve resource ``plural`` (newest first as the server lists them)."""
        try:
            groups = kubernetes.client.ApisApi(self.api_client).get_api_versions()
        except ApiException as exc:
            raise CanaryError(api_error_message(exc, "listing API groups"))
        versions = []
        for item in groups.groups or []:
            if item.name != group:
                continue
            for ver in item.versions or []:
                versions.append(ver.version)
        served = []
        for version in versions:
            resources = self.custom.get_api_resources(group, version)
            if any(res.name == plural for res in (resources.resources or [])):
                served.append(version)
        return served

    # ---- objects ---------------------------------------------------
    @_translating("reading Service {1}/{0}")
    def get_service(self, name, namespace):
        try:
            return self.api_client.sanitize_for_serialization(self.core.read_namespaced_service(name, namespace))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @_translating("reading Namespace {0}")
    def namespace_exists(self, name):
        try:
            self.core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    @_translating("reading {2} {4}/{3}")
    def get_object(self, group, version, plural, name, namespace):
        try:
            return self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @_translating("creating {2} in {3}")
    def create_object(self, group, version, plural, namespace, body):
        return self.custom.create_namespaced_custom_object(group, version, namespace, plural, body)

    @_translating("replacing {2} {4}/{3}")
    def replace_object(self, group, version, plural, name, namespace, body):
        return self.custom.replace_namespaced_custom_object(group, version, namespace, plural, name, body)

    @_translating("deleting {2} {4}/{3}")
    def delete_object(self, group, version, plural, name, namespace):
        try:
            self.custom.delete_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise

    # ---- pods ------------------------------------------------------
    @_translating("listing pods with selector {1!r} in {0}")
    def list_pods(self, namespace, selector):
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector)
        return [self.api_client.sanitize_for_serialization(pod) for pod in pods.items]

    @_translating("reading the log of pod {1}/{0}")
    def read_log(self, name, namespace, container, since_seconds=None, previous=False, tail_lines=None):
        """The container log with RFC 3339 timestamps, as text (raw body, never JSON-decoded)."""
        kwargs = dict(container=container, timestamps=True, _preload_content=False)
        if since_seconds is not None:
            kwargs["since_seconds"] = int(since_seconds)
        if previous:
            kwargs["previous"] = True
        if tail_lines is not None:
            kwargs["tail_lines"] = int(tail_lines)
        try:
            resp = self.core.read_namespaced_pod_log(name, namespace, **kwargs)
        except ApiException as exc:
            # 400: container not started yet / no previous instance; the pod is read again next poll
            if exc.status in (400, 404):
                return ""
            raise
        data = resp.data
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        return data

    @_translating("running a command in pod {1}/{0}")
    def exec_sh(self, name, namespace, container, script, timeout):
        """Run ``sh -c script``; return (stdout, stderr, returncode or None on timeout)."""
        if self._exec_core is None:
            # stream() patches its ApiClient while it runs: give it one of its own
            self._exec_core = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(self.configuration))
        resp = k8s_stream(
            self._exec_core.connect_get_namespaced_pod_exec,
            name,
            namespace,
            container=container,
            command=["sh", "-c", script],
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        try:
            resp.run_forever(timeout=timeout)
            out = resp.read_stdout() or ""
            err = resp.read_stderr() or ""
            code = resp.returncode
        finally:
            resp.close()
        return out, err, code
