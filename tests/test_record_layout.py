"""The record's slots and the thread state's, by name and by number (#16).

Outside the engines every slot is read by its name in ``_records`` (``NAME``,
``STATUS``...). The engines' per-import code (``_hook``, ``_finder``, ``_gc``'s
callback) keeps literal indices: a global look-up per slot would be paid by
every import. This test ties those literals to the names: each literal index
the engines use on a record or a thread state must be one of the slots below,
and the names in ``_records`` must still have these numbers. Renumber a slot
and this fails until the engines' literals follow.
"""

from __future__ import annotations

import ast
import pathlib

from importguard import _records

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "importguard"

#: The record slots the engines read or write by number.
RECORD = {
    0: "NAME",
    1: "PARENT",
    2: "THREAD",
    3: "T0",
    4: "T1",
    5: "STATUS",
    6: "SPEC",
    7: "EXC",
    8: "ERROR",
    9: "SWALLOWED",
    10: "FAILED_KIDS",
    11: "DUPLICATE_OF",
    12: "CONTEXT",
    13: "GC",
}
#: ``[import stack, ident, quiet depth, room]``
STATE = {0: "STACK", 1: "IDENT", 2: "QUIET", 3: "ROOM"}
#: How the engines' code names records and thread states.
RECORD_NAMES = {"rec", "prev", "kid", "parent", "aux.rec", "waiting.rec"}
STATE_NAMES = {"state", "aux.state", "_thread_state()"}
ENGINES = ("_hook.py", "_finder.py", "_gc.py")


def literal_slots(path: pathlib.Path) -> list[tuple[str, int, int]]:
    """(what is indexed, the literal index, line) for every ``x[<int>]`` on a record or a state in *path*."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int:
            what = ast.unparse(node.value)
            if what in RECORD_NAMES | STATE_NAMES:
                out.append((what, node.slice.value, node.lineno))
    return out


def test_the_names_have_the_numbers_the_engines_use() -> None:
    assert {i: getattr(_records, name) for i, name in RECORD.items()} == {i: i for i in RECORD}
    assert _records.SIZE == len(RECORD)
    assert {i: getattr(_records, name) for i, name in STATE.items()} == {i: i for i in STATE}


def test_every_literal_index_in_the_engines_is_a_named_slot() -> None:
    seen = []
    for filename in ENGINES:
        for what, index, line in literal_slots(PACKAGE / filename):
            table = STATE if what in STATE_NAMES else RECORD
            assert index in table, f"{filename}:{line}: {what}[{index}] is no slot of {sorted(table.values())}"
            seen.append((filename, what, index))
    # the scan does see them (the hook's success path writes the status by number)
    assert ("_hook.py", "rec", 5) in seen and ("_hook.py", "state", 3) in seen


def test_the_hooks_new_record_has_the_layout() -> None:
    """The list the hook appends per import: name, parent and thread where the names say, SIZE slots."""
    tree = ast.parse((PACKAGE / "_hook.py").read_text(encoding="utf-8"))
    (literal,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and [ast.unparse(t) for t in node.targets] == ["rec"]
        and isinstance(node.value, ast.List)
    ]
    items = [ast.unparse(e) for e in literal.elts]
    assert len(items) == _records.SIZE
    assert (items[_records.NAME], items[_records.PARENT], items[_records.THREAD]) == ("name", "parent", "ident")
    assert set(items[_records.THREAD + 1 :]) <= {"0", "None"}


def _failure_reads(path: pathlib.Path) -> list[str]:
    """``err[<int>]``, ``rec[ERROR][<int>]``...: a failure's fields read by number."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int:
            what = ast.unparse(node.value)
            if what in {"err", "error"} or what.endswith(("[ERROR]", "[_records.ERROR]")):
                out.append(f"{path.name}:{node.lineno}: {what}[{node.slice.value}]")
    return out


def test_outside_the_engines_records_are_read_by_name() -> None:
    """No module but the engines indexes a record, a thread state or a failure by number."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ENGINES:
            continue
        found += [
            f"{path.name}:{line}: {what}[{index}]"
            for what, index, line in literal_slots(path)
            if what in {"rec", "state"}
        ]
        found += _failure_reads(path)
    assert found == []


def test_a_failure_has_its_fields_where_the_names_say() -> None:
    """The failure tuple ``_records.failed`` builds, read through E_TYPE...E_CAUSE."""
    assert [
        _records.E_TYPE,
        _records.E_MESSAGE,
        _records.E_FRAMES,
        _records.E_IMPORTER,
        _records.E_FROMLIST,
        _records.E_CAUSE,
    ] == list(range(6))
    rec: list[object] = [None] * _records.SIZE
    rec[_records.NAME] = "no_such_module_here"
    try:
        raise ValueError("broken on purpose")
    except ValueError as exc:
        _records.failed(rec, exc, status="error")
    try:
        error = rec[_records.ERROR]
        assert isinstance(error, tuple) and len(error) == 6
        assert error[_records.E_TYPE] is ValueError
        assert error[_records.E_MESSAGE] == "broken on purpose"
        assert error[_records.E_FRAMES] == []  # the traceback's first entry is taken for the hook's own frame
        assert error[_records.E_FROMLIST] is False and error[_records.E_CAUSE] is None
    finally:  # this process's run-time failure tables are left as they were
        _records.settle_one(rec, False)
        _records._first_failure.pop(_records._key_of.pop(id(rec)), None)
