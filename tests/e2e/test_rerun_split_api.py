"""Reruns after a Gateway API rollout: the pre-split check must recognise an HTTPRoute (issue 12).

The pre-split check ("both versions answer before any split") used to live in the apps role and looked
only for a TrafficSplit. After ``canary_api=gateway`` had promoted the HTTPRoute to 0/100, a rerun with
``--tags apps`` measured the unsplit presence of both versions, v1 never answered, and the play failed
(rc 2, "version(s) 1 never answered"). The check now belongs to the canary role and skips itself when a
TrafficSplit (any served version) or an HTTPRoute with the split's name exists.

Same lab as the other e2e tests (conftest's ``lab``/``clean``); the HTTPRoute CRD (Gateway API v1.2.1,
from the chart cache) is applied for this module and deleted afterwards, and meshsim routes by the
HTTPRoute because no TrafficSplit exists. The HTTPRoute at 0/100 comes from a whole gateway
rollout through the role; that rollout also covers the resourceVersion the split task returns after the
route's controller (meshsim) wrote the Accepted status: the module used to return the one of its own write,
and the stage's next guarded write failed with a 409.
"""

import os
import re
import subprocess
import tempfile

import pytest
import yaml
from kubernetes.client.rest import ApiException

from conftest import NAMESPACE, REPO, SPLIT_NAME, base_vars, run_playbook
from support import waiting

ROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")
ROUTE_CRD = "httproutes.gateway.networking.k8s.io"
PRESPLIT_SKIPPED = "so the traffic is no longer unsplit; the pre-split check is skipped"


@pytest.fixture(scope="module")
def httproute_crd(lab):
    out = tempfile.mkdtemp(prefix="e2e-crds-")
    subprocess.run([os.path.join(REPO, "tests", "fixtures", "cached-crds"), out], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "httproute.yaml")) as handle:
        created = waiting.apply_crd(lab.api, yaml.safe_load(handle))
    yield
    if created:
        waiting.delete_crd(lab.api, ROUTE_CRD)


def route_object(lab):
    """The HTTPRoute as read back from the API (None when there is none)."""
    try:
        return lab.custom.get_namespaced_custom_object(ROUTE[0], ROUTE[1], NAMESPACE, ROUTE[2], SPLIT_NAME)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def route_weights(lab):
    """The HTTPRoute's first-rule weights as read back from the API ({} when there is none)."""
    obj = route_object(lab)
    if obj is None:
        return {}
    return dict((ref["name"], ref.get("weight", 1)) for ref in obj["spec"]["rules"][0]["backendRefs"])


def delete_route(lab):
    try:
        lab.custom.delete_namespaced_custom_object(ROUTE[0], ROUTE[1], NAMESPACE, ROUTE[2], SPLIT_NAME)
    except ApiException as exc:
        if exc.status != 404:
            raise
    waiting.wait_until("HTTPRoute deleted", lambda: route_weights(lab) == {})


@pytest.fixture
def no_route(clean, httproute_crd):
    delete_route(clean)
    yield clean
    delete_route(clean)


def test_reruns_after_a_gateway_rollout_skip_the_presplit_check(no_route):
    lab = no_route
    # 1. A whole gateway rollout through the role, 90/10 -> 20/80 -> 0/100: the HTTPRoute at 0/100, no
    #    TrafficSplit. Each stage's verdict is written with the resourceVersion the split task returned, after
    #    meshsim (the mesh controller's stand-in) wrote the Accepted status: that used to fail with a 409.
    proc, report = lab.run_canary("gateway-rollout", [10, 80, 100], canary_api="gateway")
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert report["outcome"] == "promoted", report
    assert [stage["decision"] for stage in report["stages"]] == ["pass"] * 3, report["stages"]
    assert route_weights(lab) == {"backend-v1": 0, "backend-v2": 100}
    assert lab.split_weights() == {}

    # 2. Rerun the apps: they own no split and measure nothing of it (the old code failed here, rc 2).
    extra = dict(base_vars(), canary_presplit_check=True)
    apps = run_playbook("site.yml", extra, tags="apps")
    print("\n[e2e] rerun --tags apps: rc={0}".format(apps.returncode))
    assert apps.returncode == 0, apps.stdout[-6000:]
    assert "never answered" not in apps.stdout

    # 3. Rerun the canary: the pre-split check finds the HTTPRoute and skips; the rollout state on the route says
    #    the final stage 0/100 is live and passed, so the rerun writes nothing (same resourceVersion) and reports
    #    already_promoted; still no TrafficSplit.
    before = route_object(lab)["metadata"]["resourceVersion"]
    proc, report = lab.run_canary("rerun-gateway-canary", [10, 80, 100], canary_api="gateway",
                                  canary_presplit_check=True)
    assert proc.returncode == 0, proc.stdout[-6000:]
    flat = " ".join(proc.stdout.split())  # the YAML callback wraps long messages
    assert "HTTPRoute canary-e2e/backend-ts exists already (a rollout ran before), " + PRESPLIT_SKIPPED in flat
    assert re.search(r"Measure which versions answer the frontend\] \**\s+skipping: \[localhost\]", proc.stdout)
    assert report["outcome"] == "already_promoted", report
    assert report["decision"]["action"] == "none", report["decision"]
    assert route_object(lab)["metadata"]["resourceVersion"] == before
    assert route_weights(lab) == {"backend-v1": 0, "backend-v2": 100}
    assert lab.split_weights() == {}
