"""CRI log lines as the kubelet writes them and kwok reads them."""

import io
import os

import pytest

from meshsim_lib import cri


def test_timestamp_has_nine_fraction_digits_and_utc():
    assert cri.format_timestamp(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert cri.format_timestamp(1_700_000_000_000_000_001) == "2023-11-14T22:13:20.000000001Z"


def test_format_line_full_and_partial():
    ns = 1_700_000_000_000_000_000
    line = cri.format_line("stdout", '{"name":"backend","version":"1"} ', ns)
    assert line == b'2023-11-14T22:13:20.000000000Z stdout F {"name":"backend","version":"1"} \n'
    assert cri.format_line("stderr", b"abc", ns, partial=True).split(b" ")[1:3] == [b"stderr", b"P"]


@pytest.mark.parametrize("stream,text", [("stdin", "x"), ("stdout", "two\nlines")])
def test_format_line_rejects_bad_input(stream, text):
    with pytest.raises(ValueError):
        cri.format_line(stream, text, 0)


def test_parse_round_trip_keeps_trailing_space_and_empty_text():
    ns = 1_700_000_000_500_000_000
    assert cri.parse_line(cri.format_line("stdout", "v1 ", ns)) == (
        "2023-11-14T22:13:20.500000000Z", "stdout", False, "v1 ")
    assert cri.parse_line(cri.format_line("stdout", "", ns))[3] == ""
    with pytest.raises(ValueError):
        cri.parse_line("plain text is not CRI")


def test_log_file_pump_splits_long_lines_and_rotates(tmp_path):
    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 1000))
    log = cri.CriLogFile(str(tmp_path / "c.log"), str(tmp_path / "p.log"), clock_ns=lambda: next(clock))
    assert os.path.exists(tmp_path / "p.log")  # kwok needs the previous file to exist
    data = b"short\n" + b"x" * 10 + b"\n" + b"y" * 4 + b"\nlast"
    log.pump("stdout", io.BufferedReader(io.BytesIO(data)), limit=4)
    records = [cri.parse_line(line) for line in (tmp_path / "c.log").read_bytes().splitlines()]
    assert [(r[2], r[3]) for r in records] == [
        (True, "shor"), (False, "t"), (True, "xxxx"), (True, "xxxx"), (False, "xx"), (False, "yyyy"), (False, "last")]
    stamps = [r[0] for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    log.rotate()
    log.write("stderr", "after restart")
    assert (tmp_path / "p.log").read_bytes().count(b"\n") == 7
    assert cri.parse_line((tmp_path / "c.log").read_bytes())[1:] == ("stderr", False, "after restart")
    log.close()


def test_log_file_requires_absolute_paths():
    with pytest.raises(ValueError, match="absolute"):
        cri.CriLogFile("rel.log", "/tmp/p.log")
