"""CRI container log format, as written by the kubelet and read by kwok.

Line: ``<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>``; ``P`` marks a
partial line that continues on the next record, ``F`` the final part.
"""

import datetime
import os
import threading
import time

# The kubelet splits lines longer than 16 KiB into partial records.
MAX_LINE_BYTES = 16 * 1024
STREAMS = ("stdout", "stderr")


def format_timestamp(ns_since_epoch):
    """RFC 3339 UTC timestamp with exactly nine fractional digits."""
    seconds, nanos = divmod(int(ns_since_epoch), 1_000_000_000)
    base = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return "%s.%09dZ" % (base.strftime("%Y-%m-%dT%H:%M:%S"), nanos)


def format_line(stream, text, ns_since_epoch, partial=False):
    """One CRI log record (bytes, newline-terminated) for ``text`` (bytes, no newline)."""
    if stream not in STREAMS:
        raise ValueError("stream must be one of %s, got %r" % (STREAMS, stream))
    if isinstance(text, str):
        text = text.encode("utf-8")
    if b"\n" in text:
        raise ValueError("a CRI record holds one line; split text on newlines first")
    head = "%s %s %s " % (format_timestamp(ns_since_epoch), stream, "P" if partial else "F")
    return head.encode("ascii") + text + b"\n"


def parse_line(line):
    """Parse one CRI record into ``(timestamp, stream, partial, text)``."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.rstrip("\n")
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[1] not in STREAMS or parts[2] not in ("F", "P"):
        raise ValueError("not a CRI log line: %r" % line[:80])
    text = parts[3] if len(parts) == 4 else ""
    return parts[0], parts[1], parts[2] == "P", text


class CriLogFile:
    """Append-only CRI log file with kubelet-style rotation on restart."""

    def __init__(self, path, previous_path, clock_ns=time.time_ns):
        if not os.path.isabs(path) or not os.path.isabs(previous_path):
            raise ValueError("kwok needs absolute log paths, got %r / %r" % (path, previous_path))
        self.path = path
        self.previous_path = previous_path
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._fd = None
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if not os.path.exists(self.previous_path):
            # kwok serves ``kubectl logs --previous`` from this file; it must exist.
            os.close(os.open(self.previous_path, os.O_WRONLY | os.O_CREAT, 0o644))
        self._open()

    def _open(self):
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, stream, text, partial=False):
        record = format_line(stream, text, self._clock_ns(), partial)
        with self._lock:
            os.write(self._fd, record)

    def pump(self, stream, pipe, limit=MAX_LINE_BYTES):
        """Copy a process pipe into the log until EOF (run in a thread).

        Lines longer than ``limit`` become partial (P) records followed by a
        final (F) one; text left without a newline at EOF is a final record.
        """
        carry = None  # a full-length chunk: P if more of its line follows, F at EOF
        while True:
            chunk = pipe.readline(limit)
            if carry is not None:
                if chunk == b"\n":
                    self.write(stream, carry)
                    carry = None
                    continue
                self.write(stream, carry, partial=bool(chunk))
                carry = None
            if not chunk:
                break
            if chunk.endswith(b"\n"):
                self.write(stream, chunk[:-1])
            elif len(chunk) >= limit:
                carry = chunk
            else:
                self.write(stream, chunk)
        pipe.close()

    def rotate(self):
        """Container restart: current log becomes the previous one, a new current starts."""
        with self._lock:
            os.close(self._fd)
            os.replace(self.path, self.previous_path)
            self._open()

    def close(self):
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
