"""Every bad input to meshlab.canary.traffic_split against the real API: the task fails with a message that says
what is wrong and how to fix it, and the cluster is unchanged afterwards (every object's resourceVersion in the
test namespace, including an existing split, is the same before and after).
"""

import os

import pytest
import yaml

from conftest import ROUTE, SMI, apply_crd, closed_loopback_port, create_services, delete_crd, snapshot

SPLIT_90 = [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]


def _vars(namespace, api="smi", backends=None, **extra):
    data = {"it_name": "backend-split", "it_namespace": namespace, "it_api": api, "it_service": "backend-svc",
            "it_backends": SPLIT_90 if backends is None else backends}
    data.update(extra)
    return data


def _existing_split(custom, namespace, api):
    """Write a valid 50/50 split directly with the client (not with the module under test)."""
    refs = [("backend-v1", 50), ("backend-v2", 50)]
    if api == "smi":
        body = {"apiVersion": "split.smi-spec.io/v1alpha3", "kind": "TrafficSplit",
                "metadata": {"name": "backend-split"},
                "spec": {"service": "backend-svc", "backends": [{"service": s, "weight": w} for s, w in refs]}}
        gvp = SMI
    else:
        body = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "backend-split"},
                "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "backend-svc", "port": 80}],
                         "rules": [{"backendRefs": [{"group": "", "kind": "Service", "name": s, "port": 80, "weight": w}
                                                    for s, w in refs]}]}}
        gvp = ROUTE
    custom.create_namespaced_custom_object(gvp[0], gvp[1], namespace, gvp[2], body)


def _fails_unchanged(play, api, namespace, extra_vars, *fragments, **kwargs):
    """Run the play twice (check mode, then for real); both must fail with ``fragments`` and change nothing."""
    before = snapshot(api, namespace)
    for check in (True, False):
        run = play("traffic_split", extra_vars, check=check, **kwargs)
        assert run.rc != 0 and run.failed, run
        for fragment in fragments:
            assert fragment in run.msg, "{0!r} not in the message of {1!r}".format(fragment, run)
        assert run.result.get("changed") is not True, run
        assert snapshot(api, namespace) == before, "the cluster changed after a rejected task: {0!r}".format(run)
    return run


@pytest.fixture
def without_crd(api, crds):
    """Remove a fixture CRD for one test; it is applied again afterwards (other tests and suites need it)."""
    removed = []

    def remove(which):
        delete_crd(api, which)
        removed.append(which)

    yield remove
    for which in removed:
        apply_crd(api, which)


@pytest.mark.parametrize("which, message", [
    ("smi", "TrafficSplit split.smi-spec.io is not served by this cluster: is the mesh installed?"),
    ("gateway", "HTTPRoute gateway.networking.k8s.io is not served by this cluster: "
                "are the Gateway API CRDs installed?"),
], ids=["smi", "gateway"])
def test_crd_missing(api, lab_services, play, without_crd, which, message):
    without_crd(which)
    _fails_unchanged(play, api, lab_services, _vars(lab_services, which), message)


@pytest.mark.parametrize("which", ["smi", "gateway"])
def test_missing_services_are_listed(api, crds, core, namespace, play, which):
    create_services(core, namespace, ["backend-v1"])  # backend-svc (root) and backend-v2 missing
    _fails_unchanged(play, api, namespace, _vars(namespace, which),
                     "Service(s) not found in namespace {0}: backend-svc (root), backend-v2 (backend). "
                     "Create them before the split.".format(namespace))


@pytest.mark.parametrize("which", ["smi", "gateway"])
def test_missing_namespace_is_named(api, crds, namespace, play, which):
    absent = namespace + "-absent"
    _fails_unchanged(play, api, absent, _vars(absent, which),
                     "Namespace {0} does not exist: check the namespace option, or create the namespace and its "
                     "Services (backend-svc, backend-v1, backend-v2) before the split.".format(absent))


@pytest.mark.parametrize("which", ["smi", "gateway"])
@pytest.mark.parametrize("backends, message", [
    ([{"service": "backend-v1", "weight": 0}, {"service": "backend-v2", "weight": 0}],
     "all backend weights are zero: at least one backend must get traffic"),
    ([{"service": "backend-v1", "weight": 110}, {"service": "backend-v2", "weight": -10}],
     "backends[1].weight must be >= 0, got -10"),
    ([{"service": "backend-v1", "weight": 90}, {"service": "backend-v1", "weight": 10}],
     "backends[1].service 'backend-v1' is listed twice: give each backend Service once"),
    ([{"service": "backend-v1", "weight": 1.5}, {"service": "backend-v2", "weight": 1}],
     "argument 'weight' is of type float found in 'backends'. and we were unable to convert to int"),
    ([{"service": "backend-v1", "weight": "ten"}, {"service": "backend-v2", "weight": 1}],
     "argument 'weight' is of type str found in 'backends'. and we were unable to convert to int"),
    ([], "backends must be a non-empty list of {service, weight}"),
], ids=["all-zero", "negative", "duplicate", "non-integer", "not-a-number", "empty"])
def test_bad_weights_leave_existing_split(api, crds, lab_services, custom, play, which, backends, message):
    _existing_split(custom, lab_services, which)
    _fails_unchanged(play, api, lab_services, _vars(lab_services, which, backends), message)


def test_root_service_as_backend(api, crds, lab_services, custom, play):
    _existing_split(custom, lab_services, "smi")
    backends = [{"service": "backend-svc", "weight": 50}, {"service": "backend-v2", "weight": 50}]
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "smi", backends),
                     "the root Service backend-svc must not also be a backend")


def test_gateway_port_not_on_services(api, crds, lab_services, play):
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "gateway", it_port=8080),
                     "Service(s) in namespace {0} have no port 8080: backend-svc (ports 80), backend-v1 (ports 80), "
                     "backend-v2 (ports 80). Set port to the Services' port.".format(lab_services))


def test_unserved_api_version(api, crds, lab_services, play):
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "smi", it_api_version="v1alpha2"),
                     "api_version v1alpha2 of TrafficSplit split.smi-spec.io is not served by this cluster; "
                     "it serves v1alpha3")


def test_gateway_weight_above_maximum(api, crds, lab_services, custom, play):
    _existing_split(custom, lab_services, "gateway")
    backends = [{"service": "backend-v1", "weight": 1000001}, {"service": "backend-v2", "weight": 1}]
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "gateway", backends),
                     "backends[0].weight 1000001 exceeds the Gateway API maximum of 1000000: scale all weights down")


def test_gateway_weight_at_maximum_is_accepted_by_the_api(api, crds, lab_services, custom, play, status_writer):
    """The boundary itself is valid: 1,000,000 is written (the CRD's own maximum agrees)."""
    backends = [{"service": "backend-v1", "weight": 1000000}, {"service": "backend-v2", "weight": 0}]
    with status_writer(lab_services):
        run = play("traffic_split", _vars(lab_services, "gateway", backends, it_wait_timeout=30))
    assert run.rc == 0 and run.result["changed"] is True, run
    route = custom.get_namespaced_custom_object(ROUTE[0], ROUTE[1], lab_services, ROUTE[2], "backend-split")
    assert [r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]] == [1000000, 0]


def _kubeconfig_to(path, port=None, token=None):
    """A copy of the cluster's kubeconfig with its server moved to https://127.0.0.1:<port> (nothing listens
    there) or its user replaced by a bearer ``token``."""
    with open(os.environ["KUBECONFIG"]) as handle:
        data = yaml.safe_load(handle)
    for cluster in data["clusters"]:
        assert cluster["cluster"]["server"].startswith("https://127.0.0.1:"), "not a loopback cluster"
        if port is not None:
            cluster["cluster"]["server"] = "https://127.0.0.1:{0}".format(port)
    if token is not None:
        for user in data["users"]:
            user["user"] = {"token": token}
    with open(path, "w") as handle:
        yaml.safe_dump(data, handle)
    return str(path)


def test_unreachable_api(api, crds, lab_services, play, tmp_path):
    port = closed_loopback_port()
    kubeconfig = _kubeconfig_to(tmp_path / "closed-port.yaml", port=port)
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "smi", it_kubeconfig=kubeconfig),
                     "cannot reach the Kubernetes API", "host='127.0.0.1', port={0}".format(port),
                     "Connection refused",
                     "Check kubeconfig, context and host, and that the cluster is running.",
                     env={"K8S_AUTH_KUBECONFIG": kubeconfig})


def test_rejected_credentials(api, crds, lab_services, play, tmp_path):
    kubeconfig = _kubeconfig_to(tmp_path / "bad-token.yaml", token="not-a-valid-token")
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "smi", it_kubeconfig=kubeconfig),
                     "Kubernetes API error while listing API groups: the credentials were rejected: check api_key, "
                     "client certificate or kubeconfig user (Unauthorized)", env={"K8S_AUTH_KUBECONFIG": kubeconfig})


@pytest.mark.parametrize("content, fragment", [
    (None, "cannot configure the Kubernetes client (the kubeconfig option)"),
    ("clusters: [this is not a kubeconfig\n", "cannot configure the Kubernetes client (the kubeconfig option)"),
], ids=["missing-file", "malformed"])
def test_bad_kubeconfig(api, crds, lab_services, play, tmp_path, content, fragment):
    path = tmp_path / "kubeconfig.yaml"
    if content is not None:
        path.write_text(content)
    _fails_unchanged(play, api, lab_services, _vars(lab_services, "smi", it_kubeconfig=str(path)),
                     fragment, "Check kubeconfig, context and host.", env={"K8S_AUTH_KUBECONFIG": str(path)})
