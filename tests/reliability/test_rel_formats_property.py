"""Property-based: any text in records gives valid output in every report format.

JSON, speedscope and Chrome trace must be valid JSON that round-trips the
names; the ``-X importtime`` text must stay one line per record, so that no
module name (a failed ``importlib.import_module`` can carry any string)
forges or hides a line that tools read. (HTML is tested with its writer.)
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from importguard import _formats, _records, _report

# Any character (surrogates and NUL too), line breaks more often than chance would give them.
text = st.text(
    alphabet=st.characters(blacklist_categories=()) | st.sampled_from("\n\r\x0b\x0c\x85\u2028\u2029"), max_size=40
)
FORGED = [("x\nimport time:         1 |          1 | forged", "a\nb", "not_found", False, 1)]


def _record(name: str, message: str, parent: list[Any] | None, status: str, thread: int) -> list[Any]:
    rec: list[Any] = [None] * _records.SIZE
    rec[_records.NAME] = name
    rec[_records.PARENT] = parent
    rec[_records.THREAD] = thread
    rec[_records.T0] = 10
    rec[_records.T1] = 20
    rec[_records.STATUS] = status
    if status == "ok":
        rec[_records.SPEC] = None
    else:
        rec[_records.SPEC] = "/tmp/" + name
        rec[_records.ERROR] = (ValueError, message, [], None, False, None)
        rec[_records.SWALLOWED] = True
    return rec


def _data(rows: list[tuple[str, str, str, bool, int]]) -> dict[str, Any]:
    records: list[list[Any]] = []
    for name, message, status, nested, thread in rows:
        parent = records[-1] if nested and records and records[-1][_records.THREAD] == thread else None
        records.append(_record(name, message, parent, status, thread))
    saved = _records.buffer[:]
    _records.buffer[:] = records
    try:
        return _report.build({})
    finally:
        _records.buffer[:] = saved


rows = st.lists(
    st.tuples(text, text, st.sampled_from(["ok", "error", "not_found"]), st.booleans(), st.sampled_from([1, 2])),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(rows)
@example(FORGED)
def test_json_formats_are_valid_and_round_trip_names(data_rows: list[tuple[str, str, str, bool, int]]) -> None:
    data = _data(data_rows)
    names = [r[0] for r in data_rows]
    for fmt in ("json", "speedscope", "trace"):
        out = _formats.render(data, fmt)
        assert out.isascii(), fmt
        doc = json.loads(out)
        if fmt == "json":
            assert [r["name"] for r in doc["imports"]] == names
        elif fmt == "speedscope":
            frames = {f["name"] for f in doc["shared"]["frames"]}
            # A failure's frame carries its verdict, so it can be searched for.
            assert frames == {
                r["name"] if r["verdict"] is None else f"{r['name']} [failed: {_formats.VERDICT_WORDS[r['verdict']]}]"
                for r in data["imports"]
            }
            for profile in doc["profiles"]:  # speedscope rejects events that do not nest
                stack: list[int] = []
                for event in profile["events"]:
                    if event["type"] == "O":
                        stack.append(event["frame"])
                    else:
                        assert stack.pop() == event["frame"]
                assert stack == []
        else:
            assert sorted(e["name"] for e in doc["traceEvents"] if e["ph"] in ("X", "B")) == sorted(names)


@settings(max_examples=200, deadline=None)
@given(rows)
@example(FORGED)
def test_importtime_text_keeps_one_line_per_record(data_rows: list[tuple[str, str, str, bool, int]]) -> None:
    data = _data(data_rows)
    out = _formats.render(data, "txt")
    lines = out.split("\n")
    assert lines[-1] == "" and lines[0] == "import time: self [us] | cumulative | imported package"
    body = lines[1:-1]
    # Every line is one tools read ("import time:") or one they skip ("importguard:"),
    # and each record has exactly one "import time:" line: a name cannot add or fake one.
    assert all(line.startswith(("import time:", "importguard:")) for line in body), body
    assert sum(line.startswith("import time:") for line in body) == len(data_rows)
