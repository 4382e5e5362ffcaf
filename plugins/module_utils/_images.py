# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Container image references of a Helm release: extraction, normalisation, pull preflight.

Pure functions, no I/O. Used by the filters C(mesh_release_images), C(mesh_image_plan) and
C(mesh_image_preflight) of the C(service_mesh) role.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

POD_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
HOOK_ANNOTATION = "helm.sh/hook"
# Keys of an NSM meshconfig.json ("registry" section) naming the images the injector adds to pods.
INJECTED_IMAGE_KEYS = ("sidecarImage", "sidecarInitImage")
DOCKER_HUB = "docker.io"


def split_reference(ref):
    """(repository, tag, digest) of an image reference, as written (no normalisation)."""
    ref = (ref or "").strip()
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    return ref, tag, digest


def registry_of(repository):
    """The registry host of a repository name (docker.io when the first part is not a host)."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def normalise(ref):
    """Fully qualified form, as container runtimes list images: docker.io/library/nats:2.9-alpine."""
    repository, tag, digest = split_reference(ref)
    if registry_of(repository) == DOCKER_HUB and not repository.startswith(DOCKER_HUB + "/"):
        repository = DOCKER_HUB + "/" + (repository if "/" in repository else "library/" + repository)
    if digest:
        return "%s@%s" % (repository, digest)
    return "%s:%s" % (repository, tag or "latest")


def archive_name(ref):
    """File name of the saved archive of an image in the cache directory (images/<name>)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", normalise(ref)) + ".tar"


def _documents(text):
    """Parsed YAML documents of a multi-document manifest stream (empty ones dropped)."""
    import yaml  # ansible-core depends on PyYAML

    if isinstance(text, list):
        docs = []
        for part in text:
            docs.extend(_documents(part))
        return docs
    return [doc for doc in yaml.safe_load_all(text or "") if isinstance(doc, dict)]


def _dig(obj, path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def is_hook(doc):
    annotations = _dig(doc, ("metadata", "annotations")) or {}
    return HOOK_ANNOTATION in annotations


def _injected(doc):
    """Images named in an NSM meshconfig.json held by a ConfigMap (the injected sidecar and init)."""
    found = []
    for key, value in sorted((doc.get("data") or {}).items()):
        if not key.endswith(".json") or not isinstance(value, str):
            continue
        try:
            conf = json.loads(value)
        except ValueError:
            continue
        registry = conf.get("registry") if isinstance(conf, dict) else None
        for name in INJECTED_IMAGE_KEYS:
            if isinstance(registry, dict) and registry.get(name):
                found.append((registry[name], "ConfigMap/%s %s registry.%s (injected)" % (
                    _dig(doc, ("metadata", "name")), key, name)))
    return found


def release_images(manifests, hooks=None):
    """Images a release pulls: [{image, sources, hook}] sorted by image.

    ``manifests``: the (post-rendered) manifests Helm sends to the API server. ``hooks``: a rendering
    that includes the hooks (only documents annotated helm.sh/hook are read from it), since Helm does
    not pass hooks through post-renderers. Containers, init containers and ephemeral containers of
    every pod template count, and so do the images an NSM meshconfig.json tells the injector to add.
    """
    seen = {}
    order = []

    def add(image, source, hook):
        entry = seen.get(image)
        if entry is None:
            entry = seen[image] = {"image": image, "sources": [], "hook": hook}
            order.append(image)
        entry["sources"].append(source)
        entry["hook"] = entry["hook"] and hook

    docs = [(doc, False) for doc in _documents(manifests) if not is_hook(doc)]
    docs += [(doc, True) for doc in _documents(hooks) if is_hook(doc)] if hooks is not None else []
    for doc, hook in docs:
        kind = doc.get("kind")
        name = "%s/%s" % (kind, _dig(doc, ("metadata", "name")))
        if kind == "ConfigMap":
            for image, source in _injected(doc):
                add(image, source, hook)
        path = POD_TEMPLATE_PATHS.get(kind)
        spec = _dig(doc, path) if path else None
        if not isinstance(spec, dict):
            continue
        for field in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(field) or []:
                if isinstance(container, dict) and container.get("image"):
                    add(container["image"], "%s %s %s" % (name, field, container.get("name")), hook)
    return [seen[image] for image in sorted(order)]


def listed_images(text):
    """Normalised references from ``minikube image ls`` output (one per line; JSON list also accepted)."""
    text = (text or "").strip()
    refs = []
    if text.startswith("["):
        try:
            for item in json.loads(text):
                refs.extend(item.get("repoTags") or [])
        except (ValueError, AttributeError):
            refs = []
    else:
        refs = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(" ")]
    return set(normalise(ref) for ref in refs if "<none>" not in ref)


def image_plan(images, listed="", archives=None):
    """What the preflight does per image: present (already in the cluster), load (archive) or pull.

    ``images``: references (or entries of release_images). ``listed``: ``minikube image ls`` output.
    ``archives``: paths of the image archives found in the cache directory.
    """
    present = listed_images(listed)
    by_name = {}
    for path in archives or []:
        by_name[str(path).rsplit("/", 1)[-1]] = str(path)
    plan = []
    for item in images or []:
        image = item["image"] if isinstance(item, dict) else str(item)
        if normalise(image) in present:
            plan.append({"image": image, "action": "present", "archive": ""})
        elif archive_name(image) in by_name:
            plan.append({"image": image, "action": "load", "archive": by_name[archive_name(image)]})
        else:
            plan.append({"image": image, "action": "pull", "archive": ""})
    return plan


# Causes, first match wins, most specific first (text of the container runtime behind minikube).
_CAUSES = (
    # Docker Hub answers so for a repository that does not exist as well as for a private one.
    ("not published there, or private (pull access denied)", r"pull access denied|may require 'docker login'"),
    ("not published there (manifest unknown / not found)",
     r"manifest unknown|manifest for \S+ not found|not found: manifest|: not found|repository does not exist"
     r"|name unknown|NAME_UNKNOWN|MANIFEST_UNKNOWN|404 Not Found"),
    ("access denied (private or removed repository)",
     r"denied|unauthorized|UNAUTHORIZED|authentication required|403 Forbidden"),
    ("rate-limited by the registry", r"toomanyrequests|rate limit"),
    ("registry unreachable (DNS, proxy or network)",
     r"no such host|dial tcp|i/o timeout|connection refused|network is unreachable|TLS handshake timeout"
     r"|context deadline exceeded|Client\.Timeout|x509"),
    ("archive unusable", r"no such file or directory|invalid tar|unexpected EOF|archive/tar"),
)


def failure_cause(text):
    for cause, pattern in _CAUSES:
        if re.search(pattern, text or ""):
            return cause
    return "failed"


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def preflight_verdict(plan, results, hints):
    """{ok, problems, pulled, loaded, present}: one problem line per image that could not be provided.

    ``results``: registered results of the loop that ran ``minikube image pull|load`` over the plan
    items that were not present (matched by image). ``hints``: {cache_dir, mirror_var, providers}.
    """
    by_image = {}
    for res in results or []:
        item = res.get("item") or res.get(res.get("ansible_loop_var") or "item") or {}
        if isinstance(item, dict) and item.get("image"):
            by_image[item["image"]] = res
    out = {"ok": True, "problems": [], "pulled": [], "loaded": [], "present": []}
    for entry in plan or []:
        image, action = entry["image"], entry["action"]
        if action == "present":
            out["present"].append(image)
            continue
        res = by_image.get(image)
        if res is None or res.get("skipped"):
            out["ok"] = False
            out["problems"].append("image %s: not %s (no result recorded)" % (image, "loaded" if action == "load" else "pulled"))
            continue
        text = "\n".join(str(res.get(key) or "") for key in ("stderr", "stdout", "msg"))
        if res.get("rc") == 0 and not res.get("failed"):
            out["pulled" if action == "pull" else "loaded"].append(image)
            continue
        out["ok"] = False
        out["problems"].append(problem_line(entry, failure_cause(text), _last_line(res.get("stderr") or res.get("msg")), hints))
    return out


def problem_line(entry, cause, detail, hints):
    image = entry["image"]
    repository = split_reference(image)[0]
    registry = registry_of(repository)
    cache = (hints or {}).get("cache_dir") or "<cache dir>"
    mirror = (hints or {}).get("mirror_var") or "service_mesh_registry_server"
    other = (hints or {}).get("providers") or "another mesh provider"
    if entry["action"] == "load":
        head = "image %s: loading the archive %s failed: %s" % (image, entry.get("archive"), cause)
    else:
        head = "image %s cannot be pulled from %s: %s" % (image, registry, cause)
    if detail:
        head += " (%s)" % detail[:200]
    return ("%s. Ways out: mirror it and set %s (or a service_mesh_image_rewrites entry for %s); "
            "or put its archive in %s/images/%s (playbooks/prefetch.yml saves every image); or use %s. "
            "Nothing was installed." % (head, mirror, repository, cache.rstrip("/"), archive_name(image), other))
