"""Property-based: whatever strings end up in records, the report is valid JSON that round-trips them."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from importguard import _convert, _records, _report, _summary

text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=80)  # surrogates and NUL included


def _record(name: str, message: str, parent: list[Any] | None) -> list[Any]:
    rec: list[Any] = [None] * _records.SIZE
    rec[_records.NAME] = name
    rec[_records.PARENT] = parent
    rec[_records.THREAD] = 1
    rec[_records.T0] = 10
    rec[_records.T1] = 20
    rec[_records.STATUS] = "error"
    rec[_records.SPEC] = "/tmp/" + name  # a failed module's file, as a str
    rec[_records.ERROR] = (ValueError, message, [], None, False, None)
    rec[_records.SWALLOWED] = True
    return rec


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(text, text), min_size=1, max_size=5))
def test_report_round_trips_any_text(pairs: list[tuple[str, str]]) -> None:
    records: list[Any] = []
    for name, message in pairs:
        records.append(_record(name, message, records[-1] if records else None))
    saved = _records.buffer[:]
    _records.buffer[:] = records
    try:
        data = _report.build({})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.json"
            _report.write_json(str(path), data)
            raw = path.read_bytes()
            assert raw.isascii()
            back = json.loads(raw)
        names = [r["name"] for r in back["imports"]]
        assert names == [name for name, _ in pairs]
        assert [r["error"]["message"] for r in back["imports"]] == [m for _, m in pairs]
        assert [r["parent_id"] for r in back["imports"]] == [None] + list(range(len(pairs) - 1))
        summary = _summary.render_report(data)
        assert summary.startswith("importguard: ")
    finally:
        _records.buffer[:] = saved


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_report_encoder_writes_exactly_what_json_dumps_writes(value: object) -> None:
    # The exit path writes JSON without importing json; it must not differ by a byte.
    assert _report.dumps(value) == json.dumps(value, indent=1, ensure_ascii=True)


def test_report_encoder_refuses_what_json_refuses() -> None:
    import pytest

    with pytest.raises(TypeError, match="not JSON serializable"):
        _report.dumps({"x": object()})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30), min_size=1, max_size=6),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.integers(min_value=0, max_value=8),
)
def test_source_lines_read_at_exit_match_linecache(rows: list[str], newline: str, bom: bool, lineno: int) -> None:
    # Reports read source lines without importing linecache; they must be the lines linecache gives.
    import linecache

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.py"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + newline.join(rows).encode("utf-8"))
        linecache.clearcache()
        expected = linecache.getline(str(path), lineno).strip()
        saved = sys.modules.pop("linecache")
        try:
            assert _convert.source_line(str(path), lineno) == expected
        finally:
            sys.modules["linecache"] = saved
