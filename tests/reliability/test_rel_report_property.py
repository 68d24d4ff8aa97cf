"""Property-based: whatever strings end up in records, the report is valid JSON that round-trips them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from importguard import _records, _report, _summary

text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=80)  # surrogates and NUL included


def _record(name: str, message: str, parent: list | None) -> list:
    rec = [None] * _records.SIZE
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
    records: list = []
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
        summary = _summary.render({}, None)
        assert summary.startswith("importguard: ")
    finally:
        _records.buffer[:] = saved
