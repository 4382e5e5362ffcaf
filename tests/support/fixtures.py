"""The fixture CRDs from the shared chart cache, for the suites that apply them (smoke, integration, meshsim).

Apply them with :func:`support.waiting.apply_crd`, which waits until each is Established and served.
"""

import os
import subprocess
import tempfile

import yaml

CACHED_CRDS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "cached-crds")
TRAFFICSPLIT = "trafficsplits.split.smi-spec.io"
HTTPROUTE = "httproutes.gateway.networking.k8s.io"


def cached_crds(out_dir=None):
    """{CRD name: body} of ``tests/fixtures/cached-crds``: the TrafficSplit CRD of the pinned NSM 2.0.0 chart and the
    untrimmed Gateway API v1.2.1 HTTPRoute CRD, each checked against the cache's SHA256SUMS. The files are
    written to ``out_dir`` (a fresh temporary directory when None). Raises RuntimeError with the script's
    message when the cache is missing or does not match."""
    out_dir = out_dir or tempfile.mkdtemp(prefix="cached-crds-")
    proc = subprocess.run([CACHED_CRDS, str(out_dir)], capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or "tests/fixtures/cached-crds failed")
    bodies = {}
    for name in sorted(os.listdir(str(out_dir))):
        if name.endswith(".yaml"):
            with open(os.path.join(str(out_dir), name), encoding="utf-8") as handle:
                body = yaml.safe_load(handle)
            bodies[body["metadata"]["name"]] = body
    return bodies
