"""The image preflight's pure logic: release images from manifests, the plan, the verdict.

The minikube outputs below are written in the shape minikube v1.37 prints (`minikube image ls` lists one
fully qualified reference per line; a failed `image pull`/`image load` exits non-zero with the container
runtime's error on stderr). They were composed from the runtimes' documented messages, not captured from a
live minikube (none can run here): the verdict keys on the runtime's phrases, not on minikube's framing.
"""

import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

release_images = load_filter_module("mesh_release_images").mesh_release_images
plan_of = load_filter_module("mesh_image_plan").mesh_image_plan
verdict_of = load_filter_module("mesh_image_preflight").mesh_image_preflight

MANIFESTS = """
---
# Source: nginx-service-mesh/templates/nginx-mesh-controller.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: meshconfig
data:
  meshconfig.json: "{\\n  \\"registry\\": {\\n    \\"sidecarImage\\": \\"mirror.local/nsm/nginx-mesh-sidecar:2.0.0\\",\\n
    \\"sidecarInitImage\\": \\"mirror.local/nsm/nginx-mesh-init:2.0.0\\"\\n  }\\n}"
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: spire-server
spec:
  template:
    spec:
      containers:
        - name: spire-server
          image: ghcr.io/spiffe/spire-server:1.5.6
        - name: k8s-workload-registrar
          image: gcr.io/spiffe-io/k8s-workload-registrar:1.5.6
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: spire-agent
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: curlimages/curl
      containers:
        - name: spire-agent
          image: ghcr.io/spiffe/spire-agent:1.5.6
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: c
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: x
              image: nats:2.9-alpine
"""

HOOKS = """
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nginx-mesh-pre-delete
  annotations:
    helm.sh/hook: pre-delete
spec:
  template:
    spec:
      containers:
        - name: kubectl
          image: bitnami/kubectl
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: not-a-hook-counted-twice
spec:
  template:
    spec:
      containers:
        - name: x
          image: ignored.example/not-a-hook:1
"""

# `minikube -p meshlab image ls` (docker runtime) after a partial earlier run.
IMAGE_LS = """registry.k8s.io/pause:3.10
registry.k8s.io/kube-apiserver:v1.26.15
docker.io/library/nats:2.9-alpine
ghcr.io/spiffe/spire-server:1.5.6
gcr.io/k8s-minikube/storage-provisioner:v5
"""
IMAGE_LS_JSON = '[{"id":"a","repoDigests":[],"repoTags":["docker.io/curlimages/curl:latest"],"size":"1"}]'

PULL_NOT_FOUND = {
    "rc": 80,
    "stdout": "",
    "stderr": ("X Exiting due to GUEST_IMAGE_PULL: Failed to pull image: docker pull "
               "gcr.io/spiffe-io/k8s-workload-registrar:1.5.6: Process exited with status 1\nstdout:\n\nstderr:\n"
               "Error response from daemon: manifest for gcr.io/spiffe-io/k8s-workload-registrar:1.5.6 not found: "
               "manifest unknown: Failed to fetch \"1.5.6\""),
}
PULL_UNREACHABLE = {
    "rc": 80,
    "stdout": "",
    "stderr": ("X Exiting due to GUEST_IMAGE_PULL: Failed to pull image: sudo crictl pull "
               "docker-registry.nginx.com/nsm/nginx-mesh-controller:2.0.0: Process exited with status 1\n"
               "stderr:\nE1202 pulling image: rpc error: code = Unknown desc = failed to resolve reference: "
               "dial tcp: lookup docker-registry.nginx.com on 10.0.2.3:53: no such host"),
}
PULL_DENIED = {"rc": 80, "stdout": "", "stderr": "Error response from daemon: pull access denied for bitnami/kubectl, "
               "repository does not exist or may require 'docker login': denied: requested access to the resource is denied"}
PULL_OK = {"rc": 0, "stdout": "", "stderr": ""}
LOAD_BAD = {"rc": 80, "stdout": "", "stderr": "X Exiting due to GUEST_IMAGE_LOAD: Failed to load image: unexpected EOF"}


def test_release_images_reads_pod_templates_injected_images_and_only_hook_documents_of_the_hook_rendering():
    got = release_images(MANIFESTS, hooks=HOOKS)
    assert [e["image"] for e in got] == [
        "bitnami/kubectl",
        "curlimages/curl",
        "gcr.io/spiffe-io/k8s-workload-registrar:1.5.6",
        "ghcr.io/spiffe/spire-agent:1.5.6",
        "ghcr.io/spiffe/spire-server:1.5.6",
        "mirror.local/nsm/nginx-mesh-init:2.0.0",
        "mirror.local/nsm/nginx-mesh-sidecar:2.0.0",
        "nats:2.9-alpine",
    ]
    by = dict((e["image"], e) for e in got)
    assert by["bitnami/kubectl"]["hook"] is True
    assert by["curlimages/curl"]["sources"] == ["DaemonSet/spire-agent initContainers init"]
    assert "(injected)" in by["mirror.local/nsm/nginx-mesh-sidecar:2.0.0"]["sources"][0]


def test_release_images_rejects_broken_yaml():
    with pytest.raises(AnsibleFilterError, match="cannot read the rendered manifests"):
        release_images("a: [unclosed")


def test_plan_skips_present_images_loads_archives_and_pulls_the_rest():
    images = release_images(MANIFESTS, hooks=HOOKS)
    archive = "/cache/images/docker.io_bitnami_kubectl_latest.tar"
    plan = plan_of(images, listed=IMAGE_LS, archives=[archive, "/cache/images/unrelated.tar"])
    actions = dict((p["image"], (p["action"], p["archive"])) for p in plan)
    assert actions["nats:2.9-alpine"] == ("present", "")  # listed as docker.io/library/nats:2.9-alpine
    assert actions["ghcr.io/spiffe/spire-server:1.5.6"] == ("present", "")
    assert actions["bitnami/kubectl"] == ("load", archive)
    assert actions["curlimages/curl"] == ("pull", "")  # latest implied, not listed
    assert actions["gcr.io/spiffe-io/k8s-workload-registrar:1.5.6"] == ("pull", "")
    assert all(p["archive_name"].endswith(".tar") and "/" not in p["archive_name"] for p in plan)


def test_plan_reads_the_json_listing_too():
    plan = plan_of(["curlimages/curl"], listed=IMAGE_LS_JSON)
    assert plan[0]["action"] == "present"


def _results(plan, outputs):
    return [dict(outputs[p["image"]], item=p, ansible_loop_var="item") for p in plan if p["action"] != "present"]


def test_verdict_names_each_missing_image_registry_cause_and_ways_out_in_one_line():
    plan = plan_of(["gcr.io/spiffe-io/k8s-workload-registrar:1.5.6", "ghcr.io/spiffe/spire-server:1.5.6",
                    "docker-registry.nginx.com/nsm/nginx-mesh-controller:2.0.0", "bitnami/kubectl"],
                   listed=IMAGE_LS)
    outputs = {
        "gcr.io/spiffe-io/k8s-workload-registrar:1.5.6": PULL_NOT_FOUND,
        "docker-registry.nginx.com/nsm/nginx-mesh-controller:2.0.0": PULL_UNREACHABLE,
        "bitnami/kubectl": PULL_DENIED,
    }
    verdict = verdict_of(plan, results=_results(plan, outputs), cache_dir="/srv/cache")
    assert verdict["ok"] is False
    assert verdict["present"] == ["ghcr.io/spiffe/spire-server:1.5.6"]
    problems = verdict["problems"]
    assert len(problems) == 3 and all("\n" not in line for line in problems)
    registrar, controller, kubectl = problems
    assert registrar.startswith("image gcr.io/spiffe-io/k8s-workload-registrar:1.5.6 cannot be pulled from gcr.io: "
                                "not published there")
    assert "controller:2.0.0 cannot be pulled from docker-registry.nginx.com: registry unreachable" in controller
    assert "cannot be pulled from docker.io: not published there, or private (pull access denied)" in kubectl
    for line in problems:
        assert "service_mesh_registry_server" in line and "another mesh provider" in line
        assert "/srv/cache/images/" in line and "Nothing was installed." in line


def test_verdict_passes_when_every_image_was_pulled_or_loaded():
    plan = plan_of(["curlimages/curl", "bitnami/kubectl"], archives=["/c/images/docker.io_bitnami_kubectl_latest.tar"])
    verdict = verdict_of(plan, results=_results(plan, {"curlimages/curl": PULL_OK, "bitnami/kubectl": PULL_OK}))
    assert verdict == {"ok": True, "problems": [], "pulled": ["curlimages/curl"], "loaded": ["bitnami/kubectl"],
                       "present": []}


def test_verdict_reports_a_broken_archive_and_a_missing_result():
    plan = plan_of(["bitnami/kubectl", "nats:2.9-alpine"], archives=["/c/images/docker.io_bitnami_kubectl_latest.tar"])
    results = _results([p for p in plan if p["image"] == "bitnami/kubectl"], {"bitnami/kubectl": LOAD_BAD})
    verdict = verdict_of(plan, results=results)
    assert verdict["ok"] is False
    assert "loading the archive /c/images/docker.io_bitnami_kubectl_latest.tar failed: archive unusable" in verdict["problems"][0]
    assert verdict["problems"][1] == "image nats:2.9-alpine: not pulled (no result recorded)"


def test_verdict_rejects_input_that_is_not_a_plan():
    with pytest.raises(AnsibleFilterError, match="must be the plan"):
        verdict_of(["nats"])
