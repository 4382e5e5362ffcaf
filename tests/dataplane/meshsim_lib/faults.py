"""Fault-injection switches of the stand-in mesh (tests only).

Annotations (set at run time with the kubernetes client; read every poll):
- on the root Service:
  ``meshsim.test/misroute: uniform``        ignore split weights, spread over all root pods
  ``meshsim.test/route-weights: a=50,b=50``  route by these weights instead of the split's
  ``meshsim.test/leak: backend-v1=1``       send exactly the next N requests to that Service, then
                                            follow the split again (once per annotation value)
- on a backend pod, or on a Service (applies to every pod it selects):
  ``meshsim.test/fault: http500|empty|none`` answer HTTP 500 / 200 with an empty body
- on a frontend pod:
  ``meshsim.test/restart: <token>``         restart the container once per new token value
  ``meshsim.test/restart-every: <seconds>`` restart it periodically
  ``meshsim.test/restart-status-delay: <seconds>`` publish each restart in the pod status (restartCount,
                                            containerID, lastState) this long after the log rotation, like a
                                            kubelet whose status update lags the new container's first lines
Process-wide equivalents (CLI flag, or environment variable as its default):
  ``--misroute uniform`` (MESHSIM_MISROUTE), ``--backend-fault version=2:http500``
  (MESHSIM_BACKEND_FAULT, comma-separated), ``--frontend-restart-every S``
  (MESHSIM_FRONTEND_RESTART_EVERY).
"""

import collections

from . import ANNOTATION_PREFIX

MISROUTE = ANNOTATION_PREFIX + "misroute"
ROUTE_WEIGHTS = ANNOTATION_PREFIX + "route-weights"
FAULT = ANNOTATION_PREFIX + "fault"
LEAK = ANNOTATION_PREFIX + "leak"
RESTART = ANNOTATION_PREFIX + "restart"
RESTART_EVERY = ANNOTATION_PREFIX + "restart-every"
RESTART_STATUS_DELAY = ANNOTATION_PREFIX + "restart-status-delay"

MISROUTE_MODES = ("uniform", "none", "")
BACKEND_MODES = ("http500", "empty", "none", "")

# The body nginx sends for its own 500 page, kept on one line so one response is one log line.
HTTP500_BODY = (b"<html><head><title>500 Internal Server Error</title></head><body>"
                b"<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>")


class SwitchError(ValueError):
    """A fault switch has a value meshsim does not understand."""


Switches = collections.namedtuple("Switches", "misroute backend_faults frontend_restart_every")


def parse_selector(text):
    """``k=v,k2=v2`` -> dict (equality selectors only)."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SwitchError("selector %r: use key=value[,key=value]" % text)
        out[key.strip()] = value.strip()
    return out


def parse_backend_fault(text):
    """``version=2:http500`` -> (selector dict, mode)."""
    selector, sep, mode = text.rpartition(":")
    if not sep or mode not in BACKEND_MODES or not mode:
        raise SwitchError("backend fault %r: use <selector>:<%s>" % (text, "|".join(m for m in BACKEND_MODES if m)))
    return parse_selector(selector), mode


def make_switches(misroute="", backend_faults=(), frontend_restart_every=0.0):
    if misroute not in MISROUTE_MODES:
        raise SwitchError("misroute %r: use one of uniform, none" % misroute)
    parsed = tuple(parse_backend_fault(t) for t in backend_faults if t)
    every = float(frontend_restart_every or 0)
    if every < 0:
        raise SwitchError("frontend restart interval must be >= 0 seconds, got %r" % frontend_restart_every)
    return Switches(misroute == "uniform", parsed, every)


NO_SWITCHES = make_switches()


def misroute(annotations, switches):
    value = (annotations or {}).get(MISROUTE, "")
    if value not in MISROUTE_MODES:
        raise SwitchError("%s=%r: use uniform or none" % (MISROUTE, value))
    if value == "none":
        return False
    return value == "uniform" or switches.misroute


def route_weights(annotations):
    """Override weights from the root Service annotation, or None."""
    text = (annotations or {}).get(ROUTE_WEIGHTS)
    if not text:
        return None
    weights = collections.OrderedDict()
    for key, value in parse_selector(text).items():
        try:
            weights[key] = int(value)
        except ValueError as exc:
            raise SwitchError("%s: weight of %s must be an integer, got %r" % (ROUTE_WEIGHTS, key, value)) from exc
        if weights[key] < 0:
            raise SwitchError("%s: weight of %s must be >= 0" % (ROUTE_WEIGHTS, key))
    return weights


def leak(annotations):
    """``(raw value, service, count)`` from ``meshsim.test/leak: <service>=<count>``, or None."""
    text = (annotations or {}).get(LEAK)
    if not text:
        return None
    service, sep, count = text.partition("=")
    if not sep or not service.strip() or not count.strip().isdigit():
        raise SwitchError("%s=%r: use <service>=<count>, e.g. backend-v1=1" % (LEAK, text))
    return text, service.strip(), int(count)


def _labels(obj):
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def _annotations(obj):
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def _check_mode(value, where):
    if value not in BACKEND_MODES:
        raise SwitchError("%s on %s=%r: use http500, empty or none" % (FAULT, where, value))
    return value or "none"


def backend_fault(pod, services, switches):
    """Fault mode for a request answered by ``pod``: pod annotation, then Services, then CLI."""
    name = ((pod or {}).get("metadata") or {}).get("name", "?")
    value = _annotations(pod).get(FAULT)
    if value is not None:
        return _check_mode(value, "pod/" + name)
    labels = _labels(pod)
    for svc in sorted(services, key=lambda s: s["metadata"]["name"]):
        value = _annotations(svc).get(FAULT)
        selector = (svc.get("spec") or {}).get("selector") or {}
        if value is not None and selector and all(labels.get(k) == v for k, v in selector.items()):
            return _check_mode(value, "service/" + svc["metadata"]["name"])
    for selector, mode in switches.backend_faults:
        if all(labels.get(k) == v for k, v in selector.items()):
            return mode
    return "none"


def restart_every(pod, switches):
    value = _annotations(pod).get(RESTART_EVERY)
    if value is None:
        return switches.frontend_restart_every
    try:
        seconds = float(value)
    except ValueError as exc:
        raise SwitchError("%s=%r: seconds expected" % (RESTART_EVERY, value)) from exc
    return max(seconds, 0.0)


def restart_token(pod):
    return _annotations(pod).get(RESTART)


def restart_status_delay(pod):
    """Seconds between a restart (log rotated, new process started) and its record in the pod status."""
    value = _annotations(pod).get(RESTART_STATUS_DELAY)
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except ValueError as exc:
        raise SwitchError("%s=%r: seconds expected" % (RESTART_STATUS_DELAY, value)) from exc
    if not 0.0 <= seconds <= 600.0:
        raise SwitchError("%s=%r: 0-600 seconds expected" % (RESTART_STATUS_DELAY, value))
    return seconds
