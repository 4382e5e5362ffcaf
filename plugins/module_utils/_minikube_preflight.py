# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils file is PRIVATE to the meshlab.canary collection: its functions can change at
# any time without notice. Do not import it from other collections or from standalone modules.

"""Can this host run the minikube lab? Probes (injected) and the judgement (pure).

probe_host() gathers the facts through injected callables (run, which, read_text, free_bytes, cpu_count,
system), so every branch is unit-tested without a host; judge() turns facts and the request into
problems, notes and the resolved driver, CPUs and memory. Nothing here fails on the lab's requirements:
that is the play's decision (the minikube role asserts ``ok``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.meshlab.canary.plugins.module_utils._minikube import MinikubeError, parse_tool_version

_GIB = 1024 ** 3
_MIB = 1024 ** 2
# Memory resolved from "auto" is rounded down to this many MB.
MEMORY_STEP_MB = 256
TOOLS = ("minikube", "helm", "kubectl")


# ---------------------------------------------------------------------------------------------
# parsers (pure)


def parse_meminfo(text):
    """/proc/meminfo -> {'total_mb', 'available_mb'} (None where a line is missing)."""
    values = {}
    for line in (text or "").splitlines():
        key, _sep, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key.strip()] = int(parts[0])
    total = values.get("MemTotal")
    available = values.get("MemAvailable")
    if available is None and "MemFree" in values:
        # kernels before 3.14 have no MemAvailable
        available = values["MemFree"] + values.get("Buffers", 0) + values.get("Cached", 0)
    return {"total_mb": total // 1024 if total is not None else None,
            "available_mb": available // 1024 if available is not None else None}


def parse_vm_stat(text, memsize):
    """macOS: ``vm_stat`` and ``sysctl -n hw.memsize`` -> {'total_mb', 'available_mb'}."""
    total = int(memsize) // _MIB if str(memsize or "").strip().isdigit() else None
    match = re.search(r"page size of (\d+) bytes", text or "")
    page = int(match.group(1)) if match else 4096
    pages = {}
    for line in (text or "").splitlines():
        key, _sep, rest = line.partition(":")
        rest = rest.strip().rstrip(".")
        if rest.isdigit():
            pages[key.strip()] = int(rest)
    free = [pages.get(name) for name in ("Pages free", "Pages inactive", "Pages speculative")]
    available = sum(item for item in free if item) * page // _MIB if any(item is not None for item in free) else None
    return {"total_mb": total, "available_mb": available}


def _first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse_docker_info(rc, stdout, stderr):
    """``docker info --format '{{json .}}'`` (what minikube reads): usable, server version, CPUs, memory."""
    try:
        data = json.loads((stdout or "").strip() or "null")
    except ValueError:
        data = None
    data = data if isinstance(data, dict) else {}
    errors = [str(item) for item in data.get("ServerErrors") or [] if str(item).strip()]
    version = data.get("ServerVersion") or ""
    if rc != 0 or errors or not version:
        detail = (errors[0] if errors else "") or _last_line(stderr) or "exit code %s" % rc
        return {"usable": False, "detail": detail}
    memory = data.get("MemTotal")
    return {"usable": True, "detail": "docker %s" % version, "version": version,
            "cpus": data.get("NCPU") or None, "memory_mb": int(memory) // _MIB if memory else None}


def parse_podman_info(rc, stdout, stderr):
    """``podman info --format json``: usable, version, CPUs, memory (keys as podman prints them)."""
    try:
        data = json.loads((stdout or "").strip() or "null")
    except ValueError:
        data = None
    if rc != 0 or not isinstance(data, dict):
        return {"usable": False, "detail": _last_line(stderr) or "exit code %s" % rc}
    host = data.get("host") or {}
    version = (data.get("version") or {}).get("Version") or ""
    memory = host.get("memTotal") or host.get("MemTotal")
    return {"usable": True, "detail": "podman %s" % version if version else "podman",
            "version": version or None, "cpus": host.get("cpus") or None,
            "memory_mb": int(memory) // _MIB if memory else None}


def parse_plain_probe(rc, stdout, stderr):
    """Any other probe: usable when it exits 0."""
    if rc == 0:
        return {"usable": True, "detail": _first_line(stdout) or "ok"}
    return {"usable": False, "detail": _last_line(stderr) or _last_line(stdout) or "exit code %s" % rc}


# How each driver is probed: a read-only command that succeeds only when the driver is usable.
DRIVER_PROBES = {
    "docker": (["docker", "info", "--format", "{{json .}}"], parse_docker_info),
    "podman": (["podman", "info", "--format", "json"], parse_podman_info),
    "kvm2": (["virsh", "--connect", "qemu:///system", "list"], parse_plain_probe),
    "qemu2": (["qemu-img", "--version"], parse_plain_probe),
    "virtualbox": (["VBoxManage", "--version"], parse_plain_probe),
}


# ---------------------------------------------------------------------------------------------
# the judgement (pure)


def _amount(value, field):
    """'auto' or a whole number >= 1 (strings of digits accepted, as Jinja hands them over)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool):
        raise MinikubeError("%s: expected auto or a whole number, got %r" % (field, value))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise MinikubeError("%s: expected auto or a whole number, got %r" % (field, value))
    if number < 1:
        raise MinikubeError("%s: expected auto or a whole number of at least 1, got %r" % (field, value))
    return number


def choose_driver(requested, probes, name):
    """(driver or None, problems, notes) from the requested driver and the probe results (in candidate order)."""
    usable = [probe["name"] for probe in probes if probe.get("usable")]
    if requested == "auto":
        if usable:
            return usable[0], [], []
        tried = ", ".join("%s (%s)" % (probe["name"], probe.get("detail") or "not usable") for probe in probes)
        return None, ["driver: no usable minikube driver found; tried %s. Install and start one (e.g. Docker, and add "
                      "your user to the docker group) or set %s" % (tried or "nothing", name)], []
    match = [probe for probe in probes if probe["name"] == requested]
    if not match or not match[0].get("probed", True):
        return requested, [], ["driver: %s is not probed here; its availability was not checked" % requested]
    if match[0].get("usable"):
        return requested, [], []
    detail = (match[0].get("detail") or "not usable").strip()
    stop = "" if detail[-1:] in (".", "?", "!") else "."
    others = [item for item in usable if item != requested]
    hint = (" Usable instead: %s (set %s)." % (", ".join(others), name)) if others else ""
    return None, ["driver: %s is %s but it is not usable: %s%s%s" % (name, requested, detail, stop, hint)], []


def judge(host, request):
    """Problems, notes and the resolved driver/CPUs/memory for the facts in ``host`` and the ``request``.

    ``host``: cpus, memory_total_mb, memory_available_mb, disks [{path, free_bytes, reason}], drivers
    [{name, usable, detail, probed, cpus, memory_mb}] in candidate order, tools {name: {found, path, version}}.
    ``request``: the module's parameters.
    """
    names = dict(request.get("names") or {})

    def name(option):
        return names.get(option, option)

    problems, notes = [], []
    cpus_wanted = _amount(request.get("cpus", "auto"), name("cpus"))
    memory_wanted = _amount(request.get("memory_mb", "auto"), name("memory_mb"))
    min_cpus, min_memory = int(request["min_cpus"]), int(request["min_memory_mb"])

    driver, driver_problems, driver_notes = choose_driver(request.get("driver") or "auto", host.get("drivers") or [],
                                                          name("driver"))
    problems.extend(driver_problems)
    notes.extend(driver_notes)
    probe = dict((item["name"], item) for item in host.get("drivers") or []).get(driver) or {}

    # CPUs: the host's, or fewer when the driver's daemon (docker, podman) offers fewer.
    limit, source = host.get("cpus"), "the host has"
    if probe.get("cpus") and (limit is None or probe["cpus"] < limit):
        limit, source = probe["cpus"], "the %s daemon offers" % driver
    if limit is None:
        notes.append("CPUs: the host's CPU count is unknown; not checked")
        cpus = min_cpus if cpus_wanted == "auto" else cpus_wanted
    else:
        cpus = max(min_cpus, min(limit, int(request["comfortable_cpus"]))) if cpus_wanted == "auto" else cpus_wanted
        if limit < min_cpus:
            problems.append("CPUs: %s %d but the lab needs at least %d (%s); %s cannot give it fewer. Use a machine "
                            "with %d or more CPUs" % (source, limit, min_cpus, name("min_cpus"), name("cpus"), min_cpus))
        elif cpus_wanted != "auto" and cpus_wanted < min_cpus:
            problems.append("CPUs: %s is %d, below the lab's minimum of %d; set %s to %d or more, or to auto"
                            % (name("cpus"), cpus_wanted, min_cpus, name("cpus"), min_cpus))
        elif cpus_wanted != "auto" and cpus_wanted > limit:
            problems.append("CPUs: %s is %d but %s only %d; lower %s to %d or less, or set it to auto"
                            % (name("cpus"), cpus_wanted, source, limit, name("cpus"), limit))

    # Memory: half the total (the host's, or the driver daemon's when smaller), never below the minimum.
    total, source = host.get("memory_total_mb"), "the host has"
    if probe.get("memory_mb") and (total is None or probe["memory_mb"] < total):
        total, source = probe["memory_mb"], "the %s daemon offers" % driver
    available = host.get("memory_available_mb")
    if total is None:
        notes.append("memory: the host's memory is unknown; not checked")
        memory = min_memory if memory_wanted == "auto" else memory_wanted
    else:
        half = (total // 2) // MEMORY_STEP_MB * MEMORY_STEP_MB
        memory = max(min_memory, min(half, int(request["comfortable_memory_mb"]))) \
            if memory_wanted == "auto" else memory_wanted
        if total < min_memory:
            problems.append("memory: %s %d MB in total but the lab needs at least %d MB (%s); %s cannot give it "
                            "less. Use a bigger machine" % (source, total, min_memory, name("min_memory_mb"),
                                                            name("memory_mb")))
        elif memory_wanted != "auto" and memory_wanted < min_memory:
            problems.append("memory: %s is %d, below the lab's minimum of %d MB; set %s to %d or more, or to auto"
                            % (name("memory_mb"), memory_wanted, min_memory, name("memory_mb"), min_memory))
        elif memory > total:
            problems.append("memory: %s is %d but %s %d MB in total; lower %s or set it to auto"
                            % (name("memory_mb"), memory, source, total, name("memory_mb")))
    if available is not None:
        if available < min_memory:
            problems.append("memory: %d MB free, the lab needs at least %d MB free (%s); close programs or use a "
                            "bigger machine" % (available, min_memory, name("min_memory_mb")))
        elif memory > available:
            notes.append("memory: %s (%d) is above the %d MB free now; the cluster may swap"
                         % (name("memory_mb"), memory, available))

    min_disk = int(request["min_free_disk_gb"])
    for disk in host.get("disks") or []:
        if disk.get("free_bytes") is None:
            notes.append("disk: free space for %s not checked (%s)" % (disk["path"], disk.get("reason") or "unknown"))
        elif disk["free_bytes"] < min_disk * _GIB:
            problems.append("disk: %.1f GB free on the filesystem holding %s, the lab needs at least %d GB (%s)"
                            % (disk["free_bytes"] / float(_GIB), disk["path"], min_disk, name("min_free_disk_gb")))

    install = set(request.get("install") or [])
    wanted_versions = {"minikube": request.get("minikube_version") or "", "helm": request.get("helm_version") or "",
                       "kubectl": ""}
    for tool in TOOLS:
        facts = (host.get("tools") or {}).get(tool) or {}
        found, version, wanted = facts.get("found"), facts.get("version") or "", wanted_versions[tool]
        if found and (not wanted or version == wanted):
            continue
        shown = ("found %s" % version) if version else "found (version unknown)"
        if tool in install:
            notes.append("%s: %s; %s will be installed" % (tool, shown if found else "not found", wanted or "it"))
        elif found:
            notes.append("%s: %s, pinned %s; installation is off, so the found one is used" % (tool, shown, wanted))
        else:
            problems.append("%s: not found and not installable here (installation switched off or platform "
                            "unsupported); install %s or enable its installation" % (tool, tool))

    return {"ok": not problems, "problems": problems, "notes": notes, "driver": driver, "cpus": cpus,
            "memory_mb": memory}


# ---------------------------------------------------------------------------------------------
# the probes (side effects through injected callables)


def nearest_existing(path, exists=os.path.exists):
    """The path itself or its closest existing parent (minikube's data dir may not exist yet)."""
    path = os.path.abspath(os.path.expanduser(path))
    while not exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def statvfs_free_bytes(path):
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def host_cpus():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def read_text(path):
    with open(path) as handle:
        return handle.read()


def probe_memory(system, run, which, read=read_text):
    if system == "Linux":
        try:
            return parse_meminfo(read("/proc/meminfo"))
        except (IOError, OSError):
            return {"total_mb": None, "available_mb": None}
    if system == "Darwin" and which("sysctl") and which("vm_stat"):
        _rc, memsize, _err = run([which("sysctl"), "-n", "hw.memsize"])
        _rc, stat, _err = run([which("vm_stat")])
        return parse_vm_stat(stat, memsize.strip())
    return {"total_mb": None, "available_mb": None}


def probe_driver(name, run, which):
    if name not in DRIVER_PROBES:
        return {"name": name, "usable": None, "probed": False, "detail": "not probed"}
    argv, parse = DRIVER_PROBES[name]
    binary = which(argv[0])
    if not binary:
        return {"name": name, "usable": False, "probed": True, "detail": "%s not found on PATH" % argv[0]}
    rc, out, err = run([binary] + argv[1:])
    result = parse(rc, out, err)
    result.update(name=name, probed=True)
    return result


def probe_tools(run, which, known=None):
    """minikube, helm and kubectl on PATH. A copy the caller recorded (``known[tool] = {path, version}``, e.g. the
    helm the minikube role installed with its version stamp) is reported with that version and not run."""
    tools = {}
    commands = {"minikube": ["version", "--output=json"], "helm": ["version", "--template", "{{.Version}}"]}
    for tool in TOOLS:
        path = which(tool)
        facts = {"found": bool(path), "path": path, "version": None}
        record = (known or {}).get(tool) or {}
        if path and record.get("path") and os.path.normpath(record["path"]) == os.path.normpath(path):
            facts["version"] = record.get("version") or None
        elif path and tool in commands:
            rc, out, _err = run([path] + commands[tool])
            facts["version"] = parse_tool_version(out) if rc == 0 else None
        tools[tool] = facts
    return tools


def probe_host(params, run, which, system, cpu_count=host_cpus, free_bytes=statvfs_free_bytes,
               exists=os.path.exists, read=read_text):
    """Every probe, then judge(): the info module's result (without ``changed``)."""
    requested = params.get("driver") or "auto"
    candidates = list(params.get("driver_candidates") or [])
    names = [requested] if requested != "auto" else candidates
    drivers = [probe_driver(item, run, which) for item in names]
    if requested != "auto" and drivers and drivers[0].get("usable") is False:
        # for the hint: which other candidate would do
        drivers += [probe_driver(item, run, which) for item in candidates if item != requested]

    disks = []
    for path in params.get("disk_paths") or []:
        checked = nearest_existing(path, exists)
        try:
            disks.append({"path": path, "checked_path": checked, "free_bytes": int(free_bytes(checked))})
        except (IOError, OSError) as exc:
            disks.append({"path": path, "checked_path": checked, "free_bytes": None, "reason": str(exc)})

    memory = probe_memory(system, run, which, read)
    host = {"system": system, "cpus": cpu_count(), "memory_total_mb": memory["total_mb"],
            "memory_available_mb": memory["available_mb"], "disks": disks, "drivers": drivers,
            "tools": probe_tools(run, which, params.get("known_versions"))}
    verdict = judge(host, params)
    verdict["host"] = dict((key, host[key]) for key in ("system", "cpus", "memory_total_mb", "memory_available_mb"))
    verdict["disks"] = [dict(disk, free_gb=round(disk["free_bytes"] / float(_GIB), 1) if disk["free_bytes"] is not None
                             else None) for disk in disks]
    verdict["drivers"] = drivers
    verdict["tools"] = host["tools"]
    return verdict
