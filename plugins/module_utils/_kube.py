# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""The only place where meshlab.canary talks to the kubernetes Python client.

``connect(module)`` builds the client with kubernetes.core's own factory
(``get_api_client(module=module)``: the same options, environment variables and
kubeconfig handling as kubernetes.core's modules) and wraps it in
:class:`Cluster`, a small adapter with exactly the calls the logic in
``split_api`` and ``ratio_source`` needs: discovery (through the client's own
``resources``), Services, custom-object CRUD, pods, logs and exec. Unit tests
replace it with a fake object that has the same methods, so the logic is tested
without a cluster. Every client or transport error is turned into a CanaryError
with a message that says what to check; kubernetes.core's ``CoreException``
(a kubeconfig that cannot be loaded) is left to the module's ``main()``, which
words it with :func:`client_error_message`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import functools

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError

try:
    import kubernetes
    from kubernetes.client.rest import ApiException
    from kubernetes.stream import stream as k8s_stream
except ImportError:  # AnsibleK8SModule fails the module with kubernetes.core's message before any use

    class ApiException(Exception):  # pylint: disable=missing-class-docstring
        status = None

try:
    import yaml

    KUBECONFIG_ERRORS = (yaml.YAMLError,)  # a kubeconfig file that is not YAML (kubernetes.core lets it through)
except ImportError:
    KUBECONFIG_ERRORS = ()

try:
    import urllib3

    TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)
except ImportError:
    TRANSPORT_ERRORS = (OSError,)

# Keys of a kubeconfig (at any depth) whose string values are credentials. The kubeconfig option is
# redacted by these alone, so the rest of an in-memory kubeconfig (names, server) stays readable in
# -v output, and short values such as "v1" do not blot out every return value that contains them.
KUBECONFIG_SECRET_KEYS = frozenset((
    "token", "password", "client-key-data", "client-certificate-data", "access-token", "refresh-token",
    "id-token", "client-secret",
))


def kubeconfig_secrets(kubeconfig):
    """The credential strings of an in-memory kubeconfig (a dict); none for a path or nothing."""
    found = set()

    def walk(node, exec_env=False):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and value and (key in KUBECONFIG_SECRET_KEYS or (exec_env and key == "value")):
                    found.add(value)
                else:
                    walk(value, exec_env=exec_env or key == "env")
        elif isinstance(node, list):
            for item in node:
                walk(item, exec_env=exec_env)

    if isinstance(kubeconfig, dict):
        walk(kubeconfig)
    return found


def auth_argument_spec(auth_spec):
    """kubernetes.core's AUTH_ARG_SPEC for our modules: a deep copy in which ``kubeconfig`` is redacted by
    :func:`redacting_module_class` (its secrets only) instead of as a whole."""
    spec = copy.deepcopy(auth_spec)
    spec["kubeconfig"]["no_log"] = False
    return spec


def redacting_module_class(base):
    """A subclass of ``base`` (AnsibleModule) that marks an in-memory kubeconfig's secrets as no_log values
    as soon as the parameters are read: before validation errors, the invocation log and any result."""

    class RedactingModule(base):  # pylint: disable=too-few-public-methods
        def _load_params(self):
            super(RedactingModule, self)._load_params()
            self.no_log_values.update(kubeconfig_secrets((self.params or {}).get("kubeconfig")))

    return RedactingModule


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


def client_error_message(exc, params):
    """The message for kubernetes.core's CoreException: the client could not be configured."""
    return "cannot configure the Kubernetes client ({0}): {1}. Check kubeconfig, context and host.".format(
        _where(params), str(exc).rstrip(". "))


def connect(module):
    """Build a :class:`Cluster` from the module's kubernetes.core auth options (``AnsibleK8SModule``)."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client

    try:
        k8s = get_api_client(module=module)
    except TRANSPORT_ERRORS as exc:  # the client asks the server for its version while it is built
        raise CanaryError(
            "cannot reach the Kubernetes API ({0}): {1}. Check kubeconfig, context and host, and that the cluster "
            "is running.".format(_where(module.params), _transport_reason(exc))
        )
    except KUBECONFIG_ERRORS as exc:
        raise CanaryError(client_error_message(exc, module.params))
    except ApiException as exc:  # e.g. 401 on the version request
        # (the discoverer reads the server version and the API groups while the client is built)
        raise CanaryError(api_error_message(exc, "listing API groups"), status=getattr(exc, "status", None))
    return Cluster(k8s.configuration, k8s.client.client, k8s.resources)


class Cluster(object):
    """Adapter over the kubernetes client: plain dicts in, plain dicts and strings out."""

    def __init__(self, configuration, api_client, resources):
        self.configuration = configuration
        self.host = getattr(configuration, "host", "?")
        self.api_client = api_client
        self.resources = resources  # kubernetes.core's LazyDiscoverer (cached, refreshed on a miss)
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self._exec_core = None
        self._discovery_fresh = False

    # ---- discovery -------------------------------------------------
    @_translating("listing API groups")
    def served_versions(self, group, plural):
        """Versions of ``group`` that serve resource ``plural``, in the order discovery lists them.

        kubernetes.core's discoverer keeps its cache in a file per API host and OS user across runs and refreshes
        it only on a miss; a removed CRD or version would still be found there. So each task refreshes it once
        (the server version, the group list, then only the versions of the group asked for).
        """
        if not self._discovery_fresh:
            self.resources.invalidate_cache()
            self._discovery_fresh = True
        served = []
        for resource in self.resources.search(group=group, name=plural):
            if resource.api_version not in served:
                served.append(resource.api_version)
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
