"""Render the stand-in mesh's routing into Envoy configuration (pure functions, no I/O).

Envoy carries every request. It reads three files by path-based xDS (each a
DiscoveryResponse, replaced atomically by rename, watched by Envoy):

- ``lds.json``: one listener on 127.0.0.1 (HTTP/1, absolute-URI requests accepted,
  so curl's ``http_proxy`` requests ``GET http://backend-svc/`` are routed by their
  authority), its route table by RDS, a Lua filter for the leak switch, the router;
- ``rds.json``: one virtual host per Service (its host names) with a route of
  ``weighted_clusters`` (the split), one per Gateway-attached HTTPRoute, and a
  catch-all answering 502;
- ``cds.json``: one STATIC cluster per Service, its endpoints the loopback ports of
  the nginx processes of its Ready pods.

A new split only rewrites ``rds.json``, so the listener never drains.
"""

import collections
import fractions
import functools
import hashlib
import json
import math

from . import faults
from .routing import RouteError, host_forms

LISTENER = "meshsim_http"
ROUTE_CONFIG = "meshsim_routes"
LUA_FILTER = "envoy.filters.http.lua"
LEAK_HEADER = "x-meshsim-leak"
MAX_TOTAL_WEIGHT = 2 ** 32 - 1
UPSTREAM_TIMEOUT = "5s"

TYPES = {
    "lds": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "rds": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "cds": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
}
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

# The leak switch (meshsim.test/leak: <service>=<n>): exactly n requests to that Service, then the
# split again. Envoy has no "next n requests" route, so a Lua filter counts: the split route carries
# the leak's key, target and n as route metadata; while fewer than n requests of that key were
# leaked, the filter marks the request with a header and clears the route cache, and the route that
# matches the header sends it to the target. The count lives in the listener's Lua state (Envoy runs
# one worker, --concurrency 1), which route updates do not reset, so each annotation value leaks
# exactly n requests. Clients cannot set the header themselves: the filter removes it first.
LEAK_LUA = """-- meshsim leak switch: see meshsim_lib/envoyconf.py
leaked = {}
function envoy_on_request(handle)
  handle:headers():remove("%(header)s")
  local meta = handle:metadata()
  local key = meta:get("leak_key")
  if key == nil then
    return
  end
  local done = leaked[key] or 0
  if done < meta:get("leak_count") then
    leaked[key] = done + 1
    handle:headers():add("%(header)s", meta:get("leak_service"))
    handle:clearRouteCache()
  end
end
""" % {"header": LEAK_HEADER}

ACCESS_LOG_FORMAT = collections.OrderedDict([
    ("time", "%START_TIME%"), ("authority", "%REQ(:AUTHORITY)%"), ("route", "%ROUTE_NAME%"),
    ("cluster", "%UPSTREAM_CLUSTER%"), ("upstream", "%UPSTREAM_HOST%"), ("status", "%RESPONSE_CODE%"),
    ("flags", "%RESPONSE_FLAGS%"),
])


def _address(port):
    return {"socket_address": {"address": "127.0.0.1", "port_value": int(port)}}


def _path_source(path):
    return {"resource_api_version": "V3", "path_config_source": {"path": path}}


def bootstrap(lds_path, cds_path, admin_port=0):
    """Envoy's bootstrap: admin on 127.0.0.1, listeners and clusters from the watched files."""
    return {
        "node": {"id": "meshsim", "cluster": "meshsim"},
        "admin": {"address": _address(admin_port)},
        "dynamic_resources": {"lds_config": _path_source(lds_path), "cds_config": _path_source(cds_path)},
    }


def listener(port, rds_path, access_log_path=None):
    """The one listener: 127.0.0.1:``port``, forward-proxy style HTTP/1, routes from ``rds_path``."""
    hcm = {
        "@type": _HCM,
        "stat_prefix": "meshsim",
        "codec_type": "HTTP1",
        "http_protocol_options": {"allow_absolute_url": True},
        "strip_any_host_port": True,
        "rds": {"route_config_name": ROUTE_CONFIG, "config_source": _path_source(rds_path)},
        "http_filters": [
            {"name": LUA_FILTER, "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": LEAK_LUA}}},
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    if access_log_path:
        hcm["access_log"] = [{"name": "envoy.access_loggers.file", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": access_log_path,
            "log_format": {"json_format": ACCESS_LOG_FORMAT}}}]
    return {"name": LISTENER, "address": _address(port), "filter_chains": [{"filters": [
        {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]}


def cluster(name, ports):
    """A STATIC cluster: the loopback nginx ports of a Service's Ready pods (round robin)."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        # below nginx's keepalive_timeout (75 s), so Envoy never reuses a connection nginx is closing
        "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "common_http_protocol_options": {"idle_timeout": "30s"},
            "explicit_http_config": {"http_protocol_options": {}}}},
        "load_assignment": {"cluster_name": name, "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": _address(p)}} for p in sorted(ports)]}]},
    }


def integer_weights(weights):
    """``{service: Fraction}`` -> ``{service: int}`` in the same proportions (Envoy weights are uint32).

    Zero weights are dropped (Envoy needs at least one cluster with weight); an empty result means
    every weight is 0.
    """
    live = collections.OrderedDict((s, fractions.Fraction(w)) for s, w in weights.items() if w > 0)
    if not live:
        return collections.OrderedDict()
    scale = functools.reduce(lambda a, b: a * b // math.gcd(a, b), (w.denominator for w in live.values()), 1)
    ints = collections.OrderedDict((s, int(w * scale)) for s, w in live.items())
    common = functools.reduce(math.gcd, ints.values())
    ints = collections.OrderedDict((s, w // common) for s, w in ints.items())
    total = sum(ints.values())
    if total > MAX_TOTAL_WEIGHT:  # absurd weights: keep the proportions to within 1e-9
        ints = collections.OrderedDict((s, max(1, w * 10 ** 9 // total)) for s, w in ints.items())
    return ints


def _direct(name, status, message):
    return {"name": name, "match": {"prefix": "/"},
            "direct_response": {"status": status, "body": {"inline_string": "meshsim: %s\n" % message}}}


def _metadata_route(route, leak_key, leak):
    route["metadata"] = {"filter_metadata": {LUA_FILTER: {
        "leak_key": leak_key, "leak_service": leak[1], "leak_count": leak[2]}}}
    return route


def weighted_route(name, table):
    """The route of one routing table: ``weighted_clusters``, or 503 when every weight is 0."""
    weights = integer_weights(table.weights)
    if not weights:
        return _direct(name, 503, "every backend has weight 0 (%s)" % table.source)
    return {"name": name, "match": {"prefix": "/"}, "route": {
        "timeout": UPSTREAM_TIMEOUT,
        "weighted_clusters": {"clusters": [{"name": s, "weight": w} for s, w in weights.items()]}}}


def service_routes(snapshot, root, switches):
    """``(routes, source)`` of the virtual host of Service ``root``; bad switches answer 502."""
    name = "service/%s" % root
    try:
        table = snapshot.table(root, switches)
        leak = snapshot.leak(root)
    except faults.SwitchError as exc:
        return [_direct(name, 502, "bad fault switch: %s" % exc)], "error"
    except RouteError as exc:
        return [_direct(name, exc.status, str(exc))], "error"
    main = weighted_route(name, table)
    if leak is None:
        return [main], table.source
    # leak key: root Service and annotation value, so each new value leaks again
    leak_route = {"name": "leak/%s" % root,
                  "match": {"prefix": "/", "headers": [{"name": LEAK_HEADER, "string_match": {"exact": leak[1]}}]},
                  "route": {"timeout": UPSTREAM_TIMEOUT, "cluster": leak[1]}}
    return [leak_route, _metadata_route(main, "%s|%s" % (root, leak[0]), leak)], table.source


def route_config(snapshot, switches):
    """``(RouteConfiguration, {vhost: source})`` for the Snapshot (None: the API was not read yet)."""
    vhosts, sources = [], collections.OrderedDict()
    if snapshot is not None:
        for root in snapshot.services:
            routes, source = service_routes(snapshot, root, switches)
            vhosts.append({"name": "service/%s" % root, "domains": host_forms(root, snapshot.namespace),
                           "routes": routes})
            sources["service/%s" % root] = source
        for source, domains, table in snapshot.gateway_tables():
            name = "gateway/%s" % source
            if isinstance(table, RouteError):
                routes = [_direct(name, table.status, str(table))]
            else:
                routes = [weighted_route(name, table)]
            vhosts.append({"name": name, "domains": domains, "routes": routes})
            sources[name] = source
        fallback = _direct("unknown-host", 502, "host is not a Service in namespace %s" % snapshot.namespace)
    else:
        fallback = _direct("not-ready", 503, "the API has not been read yet")
    vhosts.append({"name": "unknown-host", "domains": ["*"], "routes": [fallback]})
    return {"name": ROUTE_CONFIG, "virtual_hosts": vhosts}, sources


def clusters(snapshot, route_cfg):
    """One cluster per Service, and an empty one for any other name the routes send traffic to."""
    out = collections.OrderedDict()
    if snapshot is not None:
        for name in snapshot.services:
            out[name] = cluster(name, [snapshot.ports[p] for p in snapshot.endpoints(name)])
    for vhost in route_cfg["virtual_hosts"]:
        for route in vhost["routes"]:
            action = route.get("route") or {}
            names = [action["cluster"]] if "cluster" in action else [
                c["name"] for c in (action.get("weighted_clusters") or {}).get("clusters") or []]
            for name in names:
                out.setdefault(name, cluster(name, []))
    return list(out.values())


def discovery_response(kind, resources):
    """The file content Envoy reads for ``kind`` (lds, rds, cds): a DiscoveryResponse, version = content hash."""
    typed = [dict([("@type", TYPES[kind])] + list(r.items())) for r in resources]
    body = json.dumps(typed, sort_keys=True)
    version = hashlib.sha256(body.encode()).hexdigest()[:16]
    return {"version_info": version, "resources": typed}


def describe(table_weights):
    """``backend-v1=90,backend-v2=10`` for logs."""
    return ",".join("%s=%s" % (s, w) for s, w in table_weights.items())
