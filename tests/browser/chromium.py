"""Debian's Chromium, headless, on file:// pages: one run takes the screenshot, dumps the rendered DOM and
writes the NetLog, and the NetLog is read back into the requests the page made.

Chromium must only ever run inside a network namespace with nothing but lo (``in_loopback_netns``): the
callers check that first.
"""

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get("MESHLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--disable-features=NetworkTimeServiceQuerying",
    "--hide-scrollbars",
]
# What Chromium sends as the initiator of a request no document made (its own update checks and the like).
BROWSER_INITIATOR = "not an origin"


def in_loopback_netns():
    """True when this process' network namespace has no interface but lo."""
    with open("/proc/self/net/dev") as handle:
        names = [line.split(":", 1)[0].strip() for line in handle.readlines()[2:] if ":" in line]
    return names == ["lo"]


class Rendered(object):
    def __init__(self, returncode, dom, screenshot, netlog, stderr, seconds):
        self.returncode = returncode
        self.dom = dom
        self.screenshot = screenshot
        self.netlog = netlog
        self.stderr = stderr
        self.seconds = seconds


def render(page, screenshot, netlog, window=(1000, 2000), timeout=90):
    """Load the file ``page`` in headless Chromium with a fresh profile; the screenshot (PNG) and the NetLog
    (JSON) go to these paths. Returns a :class:`Rendered` with the dumped DOM."""
    profile = tempfile.mkdtemp(prefix="meshlab-chromium-")
    try:
        command = [CHROMIUM] + FLAGS + [
            "--user-data-dir=" + profile,
            "--window-size=%d,%d" % window,
            "--screenshot=" + screenshot,
            "--log-net-log=" + netlog,
            "--dump-dom",
            "file://" + os.path.abspath(page),
        ]
        start = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        return Rendered(proc.returncode, proc.stdout, screenshot, netlog, proc.stderr, time.monotonic() - start)
    finally:
        # Chromium has exited (subprocess.run waited): a profile that cannot be removed means a child of it still
        # runs, which the test must not hide
        shutil.rmtree(profile)


# -- the NetLog ------------------------------------------------------------------------------------------------


def read_netlog(path):
    """(events, constants) of a NetLog file; raises ValueError when it is not a complete NetLog."""
    with open(path) as handle:
        data = json.load(handle)
    if "constants" not in data or "events" not in data:
        raise ValueError("%s is not a NetLog (keys %s)" % (path, sorted(data)))
    return data["events"], data["constants"]


def requests(path):
    """The URL requests of a NetLog as [{url, initiator, isolation_key, method}], in the order they started, and
    the host names looked up ([host])."""
    events, constants = read_netlog(path)
    names = dict((value, key) for key, value in constants["logEventTypes"].items())
    by_source = {}
    order = []
    lookups = []
    for event in events:
        kind = names.get(event.get("type"))
        params = event.get("params") or {}
        source = (event.get("source") or {}).get("id")
        if kind in ("REQUEST_ALIVE", "URL_REQUEST_START_JOB") and params.get("url"):
            if source not in by_source:
                by_source[source] = {"url": params["url"], "initiator": None, "isolation_key": None,
                                     "method": None}
                order.append(source)
            if kind == "URL_REQUEST_START_JOB":
                by_source[source].update(url=params["url"], initiator=params.get("initiator"),
                                         isolation_key=params.get("network_isolation_key"),
                                         method=params.get("method"))
        elif kind == "HOST_RESOLVER_MANAGER_REQUEST" and params.get("host"):
            lookups.append(params["host"])
    return [by_source[source] for source in order], lookups


def _host(url):
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def page_traffic(path):
    """What the page made Chromium fetch, from the NetLog: (page requests, unexplained host look-ups, the
    browser's own requests). A page request is any URL request a document initiated (its initiator is an
    origin, ``null`` for a file:// page) other than file: and data: URLs; the browser's own (update checks,
    initiator "not an origin") are listed apart, and a host look-up is unexplained unless one of those
    requests needed it."""
    found, lookups = requests(path)
    own = [item for item in found if item["initiator"] == BROWSER_INITIATOR]
    page = [item for item in found if item["initiator"] != BROWSER_INITIATOR
            and not item["url"].startswith(("file:", "data:"))]
    own_hosts = set(_host(item["url"]) for item in own)
    unexplained = [host for host in lookups if _host(host) not in own_hosts]
    return page, unexplained, own


# -- the screenshot ----------------------------------------------------------------------------------------------


def png_size(path):
    """(width, height) from the PNG header; raises ValueError for anything else."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])
