"""Throughput of the meshsim router (loopback stand-in for the mesh); no cluster needed.

Starts two real nginx "pods" serving the tutorial's v1/v2 nginx.conf and the
router with a fixed 90/10 TrafficSplit, then sends a bounded number of
requests through the router as an HTTP proxy: from Python threads (router
capacity) and from ``curl`` processes in a shell loop (what a frontend does).

    tests/dataplane/meshsim bench --requests 4000 --concurrency 4 --curl 300
"""

import collections
import concurrent.futures
import http.client
import os
import subprocess
import tempfile
import time

from . import faults, procs, proxy, routing, tutorial


def _pod(name, version):
    return {"metadata": {"name": name, "labels": {"app": "backend", "version": version}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def _client(port, count):
    seen = collections.Counter()
    for dummy in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "http://backend-svc/")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        seen[(resp.status, b'"version":"2"' in body)] += 1
    return seen


def _curl_loop(port, count):
    script = 'i=0; while [ "$i" -lt %d ]; do curl -s http://backend-svc/; echo; i=$((i+1)); done' % count
    env = dict(os.environ, http_proxy="http://127.0.0.1:%d" % port)
    start = time.monotonic()
    out = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=300, check=True)
    elapsed = time.monotonic() - start
    lines = out.stdout.splitlines()
    return elapsed, sum('"version":"' in line for line in lines), sum('"version":"2"' in line for line in lines)


def run(requests, concurrency, curl):
    if not 0 < requests <= 100000 or not 0 < concurrency <= 64 or not 0 <= curl <= 5000:
        raise ValueError("bounds: 1 <= requests <= 100000, 1 <= concurrency <= 64, 0 <= curl <= 5000")
    with tempfile.TemporaryDirectory(prefix="meshsim-bench-") as tmp:
        pods = [_pod("backend-v1-a", "1"), _pod("backend-v2-a", "2")]
        nginxes = [procs.NginxPod(p["metadata"]["name"], os.path.join(tmp, p["metadata"]["name"]),
                                  {"nginx.conf": tutorial.NGINX_CONF % v}) for p, v in zip(pods, "12")]
        for nginx in nginxes:
            nginx.start()
        snap = routing.Snapshot("default", tutorial.services(), pods, [tutorial.traffic_split(90, 10)], [],
                                {n.name: n.port for n in nginxes})
        server = proxy.serve_in_thread(proxy.Router(lambda: snap, faults.NO_SWITCHES, seed=1))[0]
        port = server.server_address[1]
        try:
            per = [requests // concurrency] * concurrency
            per[0] += requests - sum(per)
            start = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(lambda n: _client(port, n), per))
            elapsed = time.monotonic() - start
            curl_result = _curl_loop(port, curl) if curl else None
        finally:
            server.shutdown()
            server.server_close()
            for nginx in nginxes:
                nginx.stop()
    total = sum(results, collections.Counter())
    ok = sum(v for key, v in total.items() if key[0] == 200)
    v2 = sum(v for key, v in total.items() if key[0] == 200 and key[1])
    print("router: requests=%d concurrency=%d elapsed=%.2fs rate=%.0f req/s ok=%d v2_share=%.4f (split 90/10)"
          % (requests, concurrency, elapsed, requests / elapsed, ok, v2 / max(ok, 1)))
    if curl_result:
        c_elapsed, c_ok, c_v2 = curl_result
        print("curl loop: requests=%d elapsed=%.2fs rate=%.0f req/s ok=%d v2_share=%.4f"
              % (curl, c_elapsed, curl / c_elapsed, c_ok, c_v2 / max(c_ok, 1)))
    return 0 if ok == requests and (not curl_result or curl_result[1] == curl) else 1
