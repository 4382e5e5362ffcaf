"""Pure helpers: what to run locally for a pod, read from its spec."""

import re

_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)\b")


class SpecError(ValueError):
    """The pod cannot be materialised locally; the message names the field."""


def scale_sleeps(script, factor):
    """Multiply every literal ``sleep N`` in a shell string by ``factor`` (1 = unchanged)."""
    if factor == 1:
        return script

    def _sub(match):
        value = float(match.group(1)) * factor
        return "sleep %s" % ("%.3f" % value).rstrip("0").rstrip(".")
    return _SLEEP.sub(_sub, script)


def container_argv(container, sleep_scale=1.0):
    """``command + args`` of a container; a shell script's sleeps scaled by ``sleep_scale``."""
    command = list(container.get("command") or [])
    args = list(container.get("args") or [])
    if not command:
        raise SpecError("container %r has no 'command'; meshsim cannot run an image entrypoint locally"
                        % container.get("name"))
    argv = command + args
    if sleep_scale != 1:
        argv = [scale_sleeps(a, sleep_scale) for a in argv]
    return argv


def container_env(container, pod_name, proxy_url, base_env):
    """The process environment: host base, the spec's literal env, then the mesh proxy."""
    env = dict(base_env)
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
    env.update(proxy_env(proxy_url))
    env["HOSTNAME"] = pod_name
    return env


def proxy_env(proxy_url):
    """Variables that send curl's plain-http requests to the stand-in router."""
    return {
        "http_proxy": proxy_url,
        "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def configmap_mount(pod, container):
    """``(mount_path, configmap_name)`` for the container's ConfigMap volume holding nginx.conf."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    found = []
    for mount in container.get("volumeMounts") or []:
        vol = volumes.get(mount.get("name")) or {}
        if "configMap" in vol:
            found.append((mount.get("mountPath"), vol["configMap"].get("name")))
    for path, name in found:
        if path.rstrip("/") == "/etc/nginx":
            return path, name
    if found:
        return found[0]
    raise SpecError("pod %s container %s mounts no ConfigMap volume (spec.volumes[].configMap)"
                    % (pod["metadata"]["name"], container.get("name")))


def backend_container(pod):
    """The container serving the pod's nginx.conf: the first one mounting a ConfigMap (sidecars skipped)."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    containers = (pod.get("spec") or {}).get("containers") or []
    for container in containers:
        if any("configMap" in (volumes.get(m.get("name")) or {}) for m in container.get("volumeMounts") or []):
            return container
    raise SpecError("pod %s: no container mounts a ConfigMap volume with nginx.conf" % pod["metadata"]["name"])


def runnable_containers(pod):
    """``(run, skipped)``: containers with a ``command`` to run locally, and names of the others
    (e.g. an injected sidecar, whose image entrypoint cannot run here)."""
    containers = (pod.get("spec") or {}).get("containers") or []
    run = [c for c in containers if c.get("command")]
    if not run:
        raise SpecError("pod %s: no container has a 'command' to run locally" % pod["metadata"]["name"])
    return run, [c.get("name") for c in containers if not c.get("command")]


def container_ports(container):
    ports = [int(p["containerPort"]) for p in container.get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
    return ports or [80]


def logs_spec(entries):
    """kwok ``Logs.spec`` for ``[(container, logs_file, previous_logs_file), ...]`` (absolute paths)."""
    logs = []
    for container, current, previous in entries:
        for path in (current, previous):
            if not path.startswith("/"):
                raise SpecError("kwok log paths must be absolute, got %r" % path)
        logs.append({"containers": [container], "logsFile": current, "previousLogsFile": previous,
                     "follow": True})
    return {"logs": logs}


def exec_spec(entries):
    """kwok ``Exec.spec`` for ``[(container, work_dir, env_dict), ...]``: commands run locally."""
    return {"execs": [{"containers": [container],
                       "local": {"workDir": work_dir,
                                 "envs": [{"name": k, "value": v} for k, v in sorted(env.items())]}}
                      for container, work_dir, env in entries]}
