import pytest

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._samples import (
    NS,
    Boundary,
    StreamTracker,
    classify,
    compile_pattern,
    format_timestamp,
    newest_timestamp,
    parse_log,
    parse_timestamp,
    split_log_line,
)

DEFAULT = r'"version"\s*:\s*"(?P<version>[^"]+)"'
T0 = 1795000000 * NS  # 2026-11-18T...Z


@pytest.mark.parametrize("text, expected", [
    ("2026-11-27T18:30:00Z", 1795804200 * NS),
    ("2026-11-27T18:30:00.5Z", 1795804200 * NS + 500000000),
    ("2026-11-27T18:30:00.123456789Z", 1795804200 * NS + 123456789),
    ("2026-11-27T19:30:00.000000001+01:00", 1795804200 * NS + 1),
    ("2026-11-27T17:00:00-01:30", 1795804200 * NS),
])
def test_parse_timestamp(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-11-27 18:30", "2026-11-27T18:30:00"])
def test_parse_timestamp_rejects(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_round_trip():
    for ns in (T0, T0 + 1, T0 + 999999999):
        assert parse_timestamp(format_timestamp(ns)) == ns


@pytest.mark.parametrize("raw, expected", [
    ('2026-11-27T18:30:00.000000001Z {"name":"backend","version":"1"} ',
     (1795804200 * NS + 1, '{"name":"backend","version":"1"} ', False)),
    ("2026-11-27T18:30:00Z  ", (1795804200 * NS, " ", False)),
    ("2026-11-27T18:30:00Z", (1795804200 * NS, "", False)),
    ('2026-11-27T18:30:00Z stdout F {"version":"2"}', (1795804200 * NS, '{"version":"2"}', False)),
    ('2026-11-27T18:30:00Z stderr P {"vers', (1795804200 * NS, '{"vers', True)),
    ("no timestamp here", (None, "no timestamp here", False)),
])
def test_split_log_line(raw, expected):
    assert split_log_line(raw) == expected


def test_parse_log_joins_cri_partials_and_drops_untimed():
    text = ("2026-11-27T18:30:00.1Z stdout P {\"name\":\"backend\",\n"
            "2026-11-27T18:30:00.2Z stdout F \"version\":\"2\"}\n"
            "garbage without time\n"
            "\n"
            "2026-11-27T18:30:01Z stdout F  \n")
    lines = parse_log(text)
    assert lines == [(1795804200 * NS + 100000000, '{"name":"backend","version":"2"}'),
                     (1795804201 * NS, " ")]


@pytest.mark.parametrize("text, expected", [
    ('{"name":"backend","version":"1"} ', ("sample", "1")),
    ('{"name": "backend", "version": "2"}', ("sample", "2")),
    (" ", ("blank", None)),
    ("", ("blank", None)),
    ("\t", ("blank", None)),
    ("<html>503 Service Temporarily Unavailable</html>", ("error", None)),
    ("curl exit 7", ("error", None)),
    ('{"version":""}', ("error", None)),
])
def test_classify_default_pattern(text, expected):
    assert classify(text, compile_pattern(DEFAULT)) == expected


def test_classify_custom_pattern():
    regex = compile_pattern(r"served-by=backend-v(?P<version>\d+)")
    assert classify("GET / served-by=backend-v3", regex) == ("sample", "3")


@pytest.mark.parametrize("pattern, fragment", [
    (r'"version":"(\d+)"', "has no named group 'version'"),
    (r"(?P<version>[", "is not a valid regular expression"),
    ("", "must be a regular expression"),
    (None, "must be a regular expression"),
])
def test_compile_pattern_rejects(pattern, fragment):
    with pytest.raises(CanaryError) as err:
        compile_pattern(pattern)
    assert fragment in str(err.value)


def log(*items):
    return "".join("{0} {1}\n".format(format_timestamp(ts), text) for ts, text in items)


def test_newest_timestamp_across_pods():
    assert newest_timestamp([log((T0, "a"), (T0 + 5, "b")), log((T0 + 3, "c")), ""]) == T0 + 5
    assert newest_timestamp(["", ""]) is None


def test_stream_tracker_overlapping_reads_count_once():
    tracker = StreamTracker()
    stream = ("uid-a", "frontend", "c1")
    first = [(T0 + 1, "x"), (T0 + 2, "y")]
    assert tracker.new_lines(stream, first, None) == first
    # the next read overlaps the previous one
    second = [(T0 + 1, "x"), (T0 + 2, "y"), (T0 + 3, "z")]
    assert tracker.new_lines(stream, second, None) == [(T0 + 3, "z")]
    assert tracker.new_lines(stream, second, None) == []
    # other streams are independent
    assert tracker.new_lines(("uid-b", "frontend", "c1"), first, None) == first


def test_stream_tracker_equal_timestamps_by_position():
    tracker = StreamTracker()
    stream = ("uid-a", "frontend", "c1")
    assert tracker.new_lines(stream, [(T0, "a"), (T0, "b")], None) == [(T0, "a"), (T0, "b")]
    # a later read returns a third line with the same timestamp
    assert tracker.new_lines(stream, [(T0, "a"), (T0, "b"), (T0, "c")], None) == [(T0, "c")]


def test_stream_tracker_respects_boundary():
    tracker = StreamTracker()
    stream = ("uid-a", "frontend", "c1")
    lines = [(T0, "old"), (T0 + 10, "at"), (T0 + 11, "new")]
    assert tracker.new_lines(stream, lines, T0 + 10) == [(T0 + 11, "new")]


@pytest.mark.parametrize("newest, settle, seen, elapsed, expected", [
    # the newest line at start is 2 s old, the newest line read 15 s after the start 0.1 s old: start + settle
    # is estimated 0.1 s early, and that is later than the newest line at start + settle
    (T0 - 2 * NS, 10, [T0 + 12 * NS, T0 + 15 * NS - NS // 10], 15, T0 + 10 * NS - NS // 10),
    # the newest line at start + settle is later than the estimate: it wins
    (T0, 10, [T0 + 5 * NS], 15, T0 + 10 * NS),
    (T0, 0, [T0 + 5], 0, T0 + 5),
    (None, 10, [], 12, None),
    # no line at start: the first line read, exclusive, unless start + settle is later
    (None, 10, [T0 + 7, T0 + 3], 0, T0 + 10 * NS + 7),
    (None, 10, [T0 + 7 * NS, T0 + 3 * NS], 20, T0 + 3 * NS - 1),
])
def test_boundary(newest, settle, seen, elapsed, expected):
    boundary = Boundary(newest, settle)
    assert boundary.resolve(seen, elapsed) == expected
    # once fixed it never moves
    later = boundary.resolve([T0 + 999 * NS], 1000)
    assert later == (expected if expected is not None else T0 + 999 * NS - 1)
