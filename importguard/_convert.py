"""Records to the report's dicts (schema ``importguard.report/1``), and what a
failed import was (its verdict), for every report format and the spans alike.

Report time only: at exit, for ``importguard.records()``, for spans. Off the
startup path, which loads ``_records`` (what the hook needs) and not this.
"""

import sys

from importguard import _records
from importguard._records import (
    DUPLICATE_OF,
    E_CAUSE,
    ERROR,
    GC,
    NAME,
    PARENT,
    SPEC,
    STATUS,
    SWALLOWED,
    T0,
    T1,
    THREAD,
    _file,
    line_of,
    location,
    nested_ns,
    qualname_of,
    shown,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    Record = list[Any]


# -- what a failure was, for every report format and the spans alike ------------------------
#
# One import statement can fail through several records: ``import a.b.c`` with
# no ``a`` records ``a.b.c``, ``a.b`` and ``a`` (importlib imports the parent
# packages on the statement's behalf), each failing with the same exception; a
# module that ran and failed on a missing import is another cascade. Each
# record's ``swallowed`` says what its own importer did, so inside a cascade the
# inner records "escaped" into the outer ones. What the statement did (caught
# as an optional dependency, a real failure someone swallowed, or an error
# that reached the program) is the verdict of its head, shared by every record
# of the cascade: the summary, the JSON (``verdict``), the -X importtime text,
# speedscope, the trace and the HTML all show this one verdict.

#: A failed import's verdict: an optional dependency that is not installed
#: (not found, caught by the importer, no module code ran on the way).
PROBE = "probe"
#: A failure that matters, caught by its importer (``except ImportError``).
SWALLOWED_FAILURE = "swallowed"
#: A failure that reached the code that made the import statement and was not caught there.
ESCAPED = "escaped"
#: Not known (the importer has not finished).
UNSETTLED = "unsettled"


def judge(head_swallowed: "bool | None", root_status: str, code_ran: bool) -> str:
    """The verdict of a failed import statement, from its head record (the
    outermost failure of the cascade: its ``swallowed``), its root cause's
    status, and whether any module of the cascade ran code (was found)."""
    if head_swallowed is None:
        return UNSETTLED
    if not head_swallowed:
        return ESCAPED
    return PROBE if root_status == "not_found" and not code_ran else SWALLOWED_FAILURE


def verdict(rec: "Record") -> "str | None":
    """The verdict shared by the cascade *rec* belongs to (see :func:`judge`); None if it did not fail.

    The head is found by walking up while the importer's failure is caused by
    this record; the root by following ``caused_by`` down.
    """
    if rec[STATUS] not in ("error", "not_found"):
        return None
    head = rec
    for _ in range(1000):
        parent = head[PARENT]
        if parent is None or parent[ERROR] is None or parent[ERROR][E_CAUSE] is not head:
            break
        head = parent
    chain = [head]
    while chain[-1][ERROR] is not None and chain[-1][ERROR][E_CAUSE] is not None and len(chain) < 1000:
        chain.append(chain[-1][ERROR][E_CAUSE])
    return judge(head[SWALLOWED], chain[-1][STATUS], any(_file(r[SPEC]) is not None for r in chain))


_LOADER_KINDS = {
    "SourceFileLoader": "source",
    "SourcelessFileLoader": "bytecode",
    "ExtensionFileLoader": "extension",
    "BuiltinImporter": "builtin",
    "FrozenImporter": "frozen",
    "NamespaceLoader": "namespace",
    "_NamespaceLoader": "namespace",
    "zipimporter": "zip",
}


def loader_kind(spec: "Any") -> str | None:
    """A short name for how a module was loaded (``source``, ``extension``, ``zip``...)."""
    if spec is None:
        return None
    loader = getattr(spec, "loader", None)
    if loader is None:
        return "namespace"
    cls = loader if isinstance(loader, type) else type(loader)
    name = getattr(cls, "__name__", "?")
    kind = _LOADER_KINDS.get(name)
    if kind is not None:
        return kind
    module = getattr(cls, "__module__", None)
    return f"{module}.{getattr(cls, '__qualname__', name)}" if module else name


def source_line(filename: str, lineno: int) -> str:
    """Line *lineno* of *filename*, stripped, as ``linecache.getline`` gives it.

    Reports are built at exit, and ``linecache`` imports ``tokenize``, which
    imports ``re``: ~5-10 ms added to the shutdown of a program that never
    loaded them. So a UTF-8 file (the default source encoding) is read here
    directly; a coding cookie, or a file that cannot be opened (zip imports,
    ``<frozen ...>``), goes to ``linecache``, which knows loaders and encodings.
    """
    linecache = sys.modules.get("linecache")
    if linecache is None and lineno > 0:
        try:
            with open(filename, "rb") as fh:
                data = fh.read()
        except (OSError, ValueError):
            data = None
        if data is not None:
            rows = data.splitlines()  # \n, \r\n and \r, as the tokenizer counts lines
            if b"coding" not in b"\n".join(rows[:2]):
                if data.startswith(b"\xef\xbb\xbf"):
                    rows[0] = rows[0][3:]
                if lineno > len(rows):
                    return ""
                try:
                    return rows[lineno - 1].decode("utf-8").strip()
                except UnicodeDecodeError:
                    pass  # not valid UTF-8: let linecache decide what Python would show
        elif filename.startswith("<") and filename.endswith(">"):
            return ""  # no file, and linecache has no source for it without the module's globals
    if linecache is None:
        import linecache as loaded

        linecache = loaded
    return str(linecache.getline(filename, lineno).strip())


def format_traceback(frames: "list[tuple[Any, int]]", qualname: str, message: str) -> str:
    """The traceback text, as Python prints it; with IMPORTGUARD_REDACT, without
    source lines (the line that raised often spells the secret out)."""
    lines = ["Traceback (most recent call last):\n"]
    for code, lasti in frames:
        filename, lineno, func = code.co_filename, line_of(code, lasti) or 0, code.co_name
        lines.append(f'  File "{filename}", line {lineno}, in {func}\n')
        source = "" if _records.redact else source_line(filename, lineno)
        if source:
            lines.append(f"    {source}\n")
    lines.append(f"{qualname}: {message}\n" if message else f"{qualname}\n")
    return "".join(lines)


def to_dicts(
    records: "list[Record] | None" = None, keep: "Callable[[str], bool] | None" = None
) -> "list[dict[str, Any]]":
    """Convert records to the report's JSON-ready dicts (schema importguard.report/1).

    Ids are positions in *records* (the whole buffer by default). With *keep*
    (a predicate on module names, from include/exclude), only kept records come
    out, each parented to its nearest kept ancestor. Imports still in progress
    come out with status ``"incomplete"`` and no duration.
    """
    return list(iter_dicts(records, keep))


def iter_dicts(
    records: "list[Record] | None" = None, keep: "Callable[[str], bool] | None" = None
) -> "Iterator[dict[str, Any]]":
    """:func:`to_dicts` one dict at a time: the report is written at exit as it
    is converted, so its dicts are never all in memory at once."""
    if records is None:
        records = _records.buffer[:]
    ids = {id(rec): i for i, rec in enumerate(records)}
    # Self time = own span minus the spans of direct children (the hot path
    # keeps only start and end). Parents outside *records* simply get no share.
    nested = nested_ns(records)
    # Collector time: a record's own collections, and those of its whole subtree
    # (children come after their parents, so one backward pass adds them up).
    gc_own: dict[int, int] = {}
    gc_all: dict[int, int] = {}
    for rec in reversed(records):
        events = rec[GC] if len(rec) > GC else None
        own = sum(end - begin for begin, end, _gen in events) if events else 0
        gc_own[id(rec)] = own
        subtree = gc_all[id(rec)] = gc_all.get(id(rec), 0) + own
        parent = rec[PARENT]
        if subtree and parent is not None:
            gc_all[id(parent)] = gc_all.get(id(parent), 0) + subtree

    def ref(rec: "Record | None") -> "int | None":
        return ids.get(id(rec)) if rec is not None else None

    for i, rec in enumerate(records):
        if keep is not None and not keep(rec[NAME]):
            continue
        parent = rec[PARENT]
        while keep is not None and parent is not None and not keep(parent[NAME]):
            parent = parent[PARENT]
        done = rec[T1] != 0
        total = rec[T1] - rec[T0] if done else None
        error = None
        importer = None
        via_fromlist = False
        if rec[ERROR] is not None:
            cls, message, frames, raw_importer, via_fromlist, cause = rec[ERROR]
            qualname = qualname_of(cls)
            where = location(raw_importer)
            error = {
                "type": qualname,
                "message": shown(message),
                "traceback": format_traceback(frames, qualname, shown(message)),
                "caused_by": ref(cause),
            }
            if where is not None:
                importer = {"file": where[0], "line": where[1]}
        item: "dict[str, Any]" = {
            "id": i,
            "name": rec[NAME],
            "parent": parent[NAME] if parent is not None else None,
            "parent_id": ref(parent),
            "thread": rec[THREAD],
            "thread_name": _records.thread_names.get(rec[THREAD]),
            "start_ns": rec[T0] + _records.epoch_offset_ns,
            "duration_ns": total,
            "self_ns": total - nested.get(id(rec), 0) if total is not None else None,
            "status": rec[STATUS] if done else "incomplete",
            "error": error,
            "swallowed": rec[SWALLOWED],
            "verdict": verdict(rec),
            "file": _file(rec[SPEC]),
            "loader": loader_kind(rec[SPEC]),
            "importer": importer,
            "fromlist": via_fromlist,
            "duplicate_of": ref(rec[DUPLICATE_OF]),
            "gc_ns": gc_own[id(rec)],
            "gc_cumulative_ns": gc_all[id(rec)],
            "gc": [[begin + _records.epoch_offset_ns, end - begin, gen] for begin, end, gen in rec[GC]]
            if len(rec) > GC and rec[GC]
            else [],
        }
        again = _records.repeats.get(id(rec)) if _records.repeats else None
        if again is not None:
            # A run-time failure that happened again and again: one record, counted.
            item["repeats"] = {
                "count": again[0],
                "escaped": again[1],
                "last_start_ns": again[2] + _records.epoch_offset_ns,
            }
        yield item
