"""Benchmarks of the stand-in mesh's real proxy (Envoy), on loopback.

``meshsim bench`` (no cluster): two real nginx "pods" serving the tutorial's v1/v2
nginx.conf behind Envoy configured the way meshsim configures it (a 90/10
TrafficSplit), then
- requests/s through Envoy as an HTTP proxy, from Python threads (proxy capacity)
  and from a ``curl`` shell loop (what a frontend does);
- file propagation: the time from writing a new split into Envoy's route file
  until Envoy reports it (admin /config_dump) and until a response shows it.

    tests/dataplane/meshsim bench --requests 4000 --concurrency 4 --curl 300 --flips 20

``meshsim bench-api`` (inside the cluster's network namespace, KUBECONFIG set):
the tutorial deployed in a fresh namespace, meshsim started, and the TrafficSplit
flipped 100/0 <-> 0/100 through the API server; per flip, the time from the API
write until Envoy serves the new weights (config_dump) and until the first response
of the new version through Envoy (requests sent back to back).

    tests/cluster/localcluster run -- tests/dataplane/meshsim bench-api --flips 20
"""

import collections
import concurrent.futures
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from . import envoy, faults, procs, routing, tutorial

V2 = b'"version":"2"'


def _pod(name, version):
    return {"metadata": {"name": name, "labels": {"app": "backend", "version": version}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def _get(port, host="backend-svc"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "http://%s/" % host)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _client(port, count):
    seen = collections.Counter()
    for dummy in range(count):
        status, body = _get(port)
        seen[(status, V2 in body)] += 1
    return seen


def _curl_loop(port, count):
    script = 'i=0; while [ "$i" -lt %d ]; do curl -s http://backend-svc/; echo; i=$((i+1)); done' % count
    env = dict(os.environ, http_proxy="http://127.0.0.1:%d" % port)
    start = time.monotonic()
    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=True)
    elapsed = time.monotonic() - start
    lines = out.stdout.splitlines()
    return elapsed, sum('"version":"' in line for line in lines), sum('"version":"2"' in line for line in lines)


def _served_weights(proxy):
    """``{cluster: weight}`` of backend-svc's route in the config Envoy serves now."""
    routes = proxy.served_routes() or {}
    for vhost in routes.get("virtual_hosts") or []:
        if vhost.get("name") == "service/backend-svc":
            action = vhost["routes"][-1].get("route") or {}
            return {c["name"]: c.get("weight") for c in (action.get("weighted_clusters") or {}).get("clusters") or []}
    return {}


def _until(predicate, timeout=30.0):
    """Poll ``predicate`` back to back; return seconds until it held (raises on timeout)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise RuntimeError("condition not reached within %.0fs" % timeout)
    return time.monotonic() - start


def _stats(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return "n=%d min=%.3fs median=%.3fs p95=%.3fs max=%.3fs" % (
        len(values), values[0], statistics.median(values), p95, values[-1])


def _flip_target(i):
    return (0, 100) if i % 2 == 0 else (100, 0)


def _new_version_seen(port, want_v2):
    def check():
        status, body = _get(port)
        return status == 200 and (V2 in body) == want_v2
    return check


def _measure_flip(proxy, v2, written, timeout=30.0):
    """Seconds from ``written`` until a response of the new version, and until config_dump shows it."""
    want = {"backend-v2": 1} if v2 else {"backend-v1": 1}
    seen = _new_version_seen(proxy.port, bool(v2))
    first = done = None
    while first is None or done is None:
        now = time.monotonic()
        if now - written > timeout:
            raise RuntimeError("new split not served within %.0fs" % timeout)
        if first is None and seen():
            first = time.monotonic() - written
        if done is None and _served_weights(proxy) == want:
            done = time.monotonic() - written
    return first, done


def run(requests, concurrency, curl, flips=20):
    if not 0 < requests <= 100000 or not 0 < concurrency <= 64 or not 0 <= curl <= 5000 or not 0 <= flips <= 200:
        raise ValueError("bounds: 1 <= requests <= 100000, 1 <= concurrency <= 64, 0 <= curl <= 5000, "
                         "0 <= flips <= 200")
    with tempfile.TemporaryDirectory(prefix="meshsim-bench-") as tmp:
        pods = [_pod("backend-v1-a", "1"), _pod("backend-v2-a", "2")]
        nginxes = [procs.NginxPod(p["metadata"]["name"], os.path.join(tmp, p["metadata"]["name"]),
                                  {"nginx.conf": tutorial.NGINX_CONF % v}) for p, v in zip(pods, "12")]
        proxy = envoy.Envoy(os.path.join(tmp, "envoy"))
        ports = {n.name: n.port for n in nginxes}

        def snapshot(v1, v2):
            return routing.Snapshot("default", tutorial.services(), pods, [tutorial.traffic_split(v1, v2)], [], ports)

        try:
            for nginx in nginxes:
                nginx.start()
            proxy.start()
            proxy.push_snapshot(snapshot(90, 10), faults.NO_SWITCHES)
            _until(lambda: _served_weights(proxy) == {"backend-v1": 9, "backend-v2": 1})
            per = [requests // concurrency] * concurrency
            per[0] += requests - sum(per)
            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(lambda n: _client(proxy.port, n), per))
            elapsed = time.monotonic() - start
            curl_result = _curl_loop(proxy.port, curl) if curl else None
            dumps, served = [], []
            for i in range(flips):
                v1, v2 = _flip_target(i)
                written = time.monotonic()
                proxy.push_snapshot(snapshot(v1, v2), faults.NO_SWITCHES)
                first, done = _measure_flip(proxy, v2, written)
                dumps.append(done)
                served.append(first)
        finally:
            proxy.stop()
            for nginx in nginxes:
                nginx.stop()
    total = sum(results, collections.Counter())
    ok = sum(v for key, v in total.items() if key[0] == 200)
    v2 = sum(v for key, v in total.items() if key[0] == 200 and key[1])
    print("envoy: requests=%d concurrency=%d elapsed=%.2fs rate=%.0f req/s ok=%d v2_share=%.4f (split 90/10)"
          % (requests, concurrency, elapsed, requests / elapsed, ok, v2 / max(ok, 1)))
    if curl_result:
        c_elapsed, c_ok, c_v2 = curl_result
        print("curl loop through envoy: requests=%d elapsed=%.2fs rate=%.0f req/s ok=%d v2_share=%.4f"
              % (curl, c_elapsed, curl / c_elapsed, c_ok, c_v2 / max(c_ok, 1)))
    if flips:
        print("file -> envoy config_dump: %s" % _stats(dumps))
        print("file -> first response of the new split: %s" % _stats(served))
    return 0 if ok == requests and (not curl_result or curl_result[1] == curl) else 1


# ---- through the API server (inside the cluster's network namespace) -------------------------

def run_api(kubeconfig, flips=20, poll_interval=0.5, keep=False):
    """Propagation through the API server: TrafficSplit write -> Envoy serves it (see the module doc)."""
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    if not 0 < flips <= 200:
        raise ValueError("bounds: 1 <= flips <= 200")
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    sys.path.insert(0, os.path.join(repo, "tests"))
    from support import fixtures, waiting  # the shared CRD loader and wait helpers of the cluster suites
    meshsim = os.path.join(repo, "tests", "dataplane", "meshsim")
    api = config.new_client_from_config(config_file=kubeconfig)
    core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    waiting.apply_crd(api, fixtures.cached_crds()[fixtures.TRAFFICSPLIT])
    ns = "meshsim-bench-" + uuid.uuid4().hex[:6]
    state = tempfile.mkdtemp(prefix="meshsim-bench-api-")
    group, version, plural = "split.smi-spec.io", "v1alpha3", "trafficsplits"
    core.create_namespace({"metadata": {"name": ns}})
    try:
        waiting.namespace_ready(api, ns)
        for v in ("1", "2"):
            core.create_namespaced_config_map(ns, tutorial.configmap(v))
            apps.create_namespaced_deployment(ns, tutorial.backend_deployment(v))
        for svc in tutorial.services():
            core.create_namespaced_service(ns, svc)
        custom.create_namespaced_custom_object(group, version, ns, plural, tutorial.traffic_split(100, 0))
        subprocess.run([meshsim, "start", "--kubeconfig", kubeconfig, "--namespace", ns, "--state-dir", state,
                        "--poll-interval", str(poll_interval), "--max-runtime", "900"], check=True, timeout=60)
        proxy = envoy.Envoy.attach(os.path.join(state, "envoy"))

        def backends_up():
            try:
                with open(os.path.join(state, "status.json"), encoding="utf-8") as fh:
                    return len(json.load(fh).get("backends") or {}) == 2
            except (OSError, ValueError):
                return False
        waiting.pods_ready(api, ns, "app=backend", count=2)
        waiting.wait_until("meshsim runs both nginx backends", backends_up)
        waiting.wait_until("the 100/0 split served", lambda: _served_weights(proxy) == {"backend-v1": 1})
        dumps, served = [], []
        for i in range(flips):
            v1, v2 = _flip_target(i)
            current = custom.get_namespaced_custom_object(group, version, ns, plural, "backend-ts")
            body = tutorial.traffic_split(v1, v2)
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            written = time.monotonic()
            custom.replace_namespaced_custom_object(group, version, ns, plural, "backend-ts", body)
            first, done = _measure_flip(proxy, v2, written)
            dumps.append(done)
            served.append(first)
            time.sleep(0.3)  # let the next write land at a random point of meshsim's poll cycle
    except ApiException as exc:
        raise RuntimeError("API: %s" % exc) from exc
    finally:
        subprocess.run([meshsim, "stop", "--state-dir", state], timeout=60, check=False)
        core.delete_namespace(ns)
        if not keep:
            subprocess.run(["rm", "-rf", state], check=False)
    print("API write -> envoy config_dump (poll interval %.2fs): %s" % (poll_interval, _stats(dumps)))
    print("API write -> first response of the new version through envoy: %s" % _stats(served))
    return 0
