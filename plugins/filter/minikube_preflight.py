# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: minikube_preflight
short_description: Judge whether a host can run the minikube lab
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Pure decision logic of the C(meshlab.canary.minikube) role's preflight. The role gathers the
    facts (CPUs, memory, mounts, driver probes, tool versions); this filter turns them into a
    list of problems, each naming the requirement, what was found and how to fix it.
  - Picks the driver. With C(driver=auto) the first usable candidate wins.
options:
  _input:
    description:
      - Host facts. Keys C(cpus), C(memory_free_mb), C(memory_total_mb), C(mounts) (as in
        C(ansible_facts.mounts)), C(disk_paths), C(driver) (requested driver or C(auto)),
        C(driver_probes) (list of C({name, usable, detail}) in preference order, or the registered results of a
        looped command task, where C(rc) 0 means usable and the loop variable is the driver name), C(tools)
        (list of C({name, found, version, wanted, installable})).
    type: dict
    required: true
  requirements:
    description:
      - Keys C(min_cpus), C(cpus) (requested for the profile), C(min_free_memory_mb),
        C(memory_mb) (requested for the profile), C(min_free_disk_gb).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Judge the host
  ansible.builtin.set_fact:
    __minikube_preflight: "{{ __minikube_host | meshlab.canary.minikube_preflight(__minikube_requirements) }}"
"""

RETURN = r"""
_value:
  description: Mapping with C(ok) (bool), C(problems) (list of strings), C(driver) (chosen driver or null) and C(notes).
  type: dict
"""

import os

from ansible.errors import AnsibleFilterError

_GIB = 1024 ** 3


def free_bytes_for_path(mounts, path):
    """Free bytes of the mount holding path (longest mount-point prefix), or None if unknown."""
    path = os.path.normpath(path or "/")
    best, best_len = None, -1
    for mount in mounts or []:
        point = os.path.normpath(mount.get("mount") or "")
        if not point:
            continue
        if path == point or path.startswith(point.rstrip("/") + "/") or point == "/":
            if len(point) > best_len and mount.get("size_available") is not None:
                best, best_len = mount, len(point)
    if best is None:
        return None
    return int(best["size_available"])


def normalise_probe(probe):
    """Accept {name, usable, detail} or a registered loop result of a command task."""
    if "usable" in probe:
        return {"name": probe.get("name"), "usable": bool(probe.get("usable")), "detail": probe.get("detail") or ""}
    name = probe.get("name") or probe.get(probe.get("ansible_loop_var", "item"))
    usable = probe.get("rc") == 0
    detail = ""
    for key in ("stderr", "msg", "stdout"):
        text = str(probe.get(key) or "").strip()
        if text:
            detail = text.splitlines()[-1].strip()
            break
    if not usable and str(probe.get("msg", "")).startswith("Error executing command") and not probe.get("stderr"):
        # ansible.builtin.command could not run the program at all (rc 2): it is not installed.
        command = probe.get("cmd") or ""
        program = command[0] if isinstance(command, list) and command else str(command).split(" ", 1)[0]
        detail = "%s not found" % (program or "command")
    if usable:
        detail = (str(probe.get("stdout") or "").strip().splitlines() or ["ok"])[0]
    return {"name": name, "usable": usable, "detail": detail or "exit code %s" % probe.get("rc")}


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("minikube_preflight: %s must be a number, got %r" % (name, value))


def minikube_preflight(host, requirements):
    """Return {ok, problems, driver, notes} for a host and the lab's requirements."""
    if not isinstance(host, dict) or not isinstance(requirements, dict):
        raise AnsibleFilterError("minikube_preflight: both the host facts and the requirements must be mappings")
    problems, notes = [], []

    min_cpus = _int(requirements.get("min_cpus", 2), "min_cpus")
    want_cpus = _int(requirements.get("cpus", min_cpus), "cpus")
    cpus = _int(host.get("cpus", 0), "cpus")
    if cpus < min_cpus:
        problems.append("CPUs: the host has %d, the lab needs at least %d" % (cpus, min_cpus))
    elif cpus < want_cpus:
        problems.append("CPUs: minikube_cpus is %d but the host has only %d; lower minikube_cpus to %d or less"
                        % (want_cpus, cpus, cpus))

    min_free = _int(requirements.get("min_free_memory_mb", 2048), "min_free_memory_mb")
    want_mem = _int(requirements.get("memory_mb", min_free), "memory_mb")
    free = _int(host.get("memory_free_mb", 0), "memory_free_mb")
    total = _int(host.get("memory_total_mb", free), "memory_total_mb")
    if free < min_free:
        problems.append("memory: %d MB free, the lab needs at least %d MB free; close programs or use a bigger machine"
                        % (free, min_free))
    if want_mem > total:
        problems.append("memory: minikube_memory_mb is %d but the host has %d MB in total; lower minikube_memory_mb"
                        % (want_mem, total))
    elif want_mem > free:
        notes.append("memory: minikube_memory_mb (%d) is above the %d MB free now; the cluster may swap"
                     % (want_mem, free))

    min_disk = _int(requirements.get("min_free_disk_gb", 20), "min_free_disk_gb")
    for path in host.get("disk_paths") or ["/"]:
        avail = free_bytes_for_path(host.get("mounts"), path)
        if avail is None:
            notes.append("disk: no mount information for %s; free space not checked" % path)
        elif avail < min_disk * _GIB:
            problems.append("disk: %.1f GB free on the filesystem holding %s, the lab needs at least %d GB"
                            % (avail / float(_GIB), path, min_disk))

    requested = host.get("driver") or "auto"
    probes = [normalise_probe(probe) for probe in host.get("driver_probes") or []]
    usable = [probe.get("name") for probe in probes if probe.get("usable")]
    driver = None
    if requested == "auto":
        if usable:
            driver = usable[0]
        else:
            tried = ", ".join("%s (%s)" % (probe.get("name"), probe.get("detail") or "not usable") for probe in probes)
            problems.append("driver: no usable minikube driver found; tried %s. Install and start one (e.g. Docker, "
                            "and add your user to the docker group) or set minikube_driver" % (tried or "nothing"))
    else:
        match = [probe for probe in probes if probe.get("name") == requested]
        if match and match[0].get("usable"):
            driver = requested
        else:
            detail = match[0].get("detail") if match else "not probed"
            others = [name for name in usable if name != requested]
            hint = (" Usable instead: %s (set minikube_driver)." % ", ".join(others)) if others else ""
            detail = (detail or "not usable").strip()
            stop = "" if detail[-1:] in (".", "?", "!") else "."
            problems.append("driver: minikube_driver is %s but it is not usable: %s%s%s" % (requested, detail, stop, hint))

    for tool in host.get("tools") or []:
        name = tool.get("name")
        found, version, wanted = tool.get("found"), tool.get("version") or "", tool.get("wanted") or ""
        if found and (not wanted or version == wanted):
            continue
        shown = ("found %s" % version) if version else "found (version not checked)"
        if tool.get("installable"):
            notes.append("%s: %s; %s will be installed" % (name, shown if found else "not found", wanted or "it"))
            continue
        if found:
            notes.append("%s: %s, pinned %s; installation is off, so the found one is used" % (name, shown, wanted))
            continue
        problems.append("%s: not found and not installable here (installation switched off or platform unsupported); "
                        "install %s or enable its installation in the minikube role" % (name, name))

    return {"ok": not problems, "problems": problems, "driver": driver, "notes": notes}


class FilterModule(object):
    """meshlab.canary minikube preflight."""

    def filters(self):
        return {"minikube_preflight": minikube_preflight}
