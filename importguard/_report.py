"""The JSON report (schema ``importguard.report/1``) and how it reaches disk.

Runs at exit or on request, never on the import path, so it may import ``json``
and ``tempfile``. The schema ships as ``importguard/report.schema.json`` and is
documented in the README.
"""

import os
import stat
import sys

from importguard import _exports, _records
from importguard._globs import compile_globs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

SCHEMA = "importguard.report/1"


def selector(settings: "dict[str, Any]") -> "Any":
    """A predicate on module names from ``include``/``exclude`` (None: keep all)."""
    include = tuple(settings.get("include") or ())
    exclude = tuple(settings.get("exclude") or ())
    if not include and not exclude:
        return None
    inc = compile_globs(include) if include else None
    exc = compile_globs(exclude) if exclude else None

    def keep(name: str) -> bool:
        if inc is not None and not inc(name):
            return False
        return not (exc is not None and exc(name))

    return keep


def build(settings: "dict[str, Any] | None" = None, stream: bool = False) -> "dict[str, Any]":
    """The report of this process so far, as a JSON-ready dict.

    With *stream*, ``imports`` is an iterable that converts the records as it
    is read (once): :func:`write_json` then never holds every record's dict,
    nor the whole text, in memory (at exit with 20,000 records that was 4-6x
    the process's peak RSS).
    """
    settings = settings or {}
    records = _records.buffer[:]
    keep = selector(settings)
    imports: "Any" = Stream(records, keep) if stream else _records.to_dicts(records, keep=keep)
    ids = {id(rec): i for i, rec in enumerate(records)}
    return {
        "schema": SCHEMA,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "imports": imports,
        "violations": _exports.to_dicts(ids, records=records),
        "unverified_exports": _exports.to_dicts(ids, _exports.unverified),
        "folded_records": _records.folded_records,
        "folded": [
            {"name": name, "count": c, "total_ns": t, "self_ns": own}
            for name, (c, t, own) in sorted(_records.folded.items())
        ],
        "internal_errors": [
            {"where": where, "type": typ, "message": _records.shown(message)}
            for where, typ, message in _records.internal_errors
        ],
    }


class Stream:
    """The records of a report, converted to dicts one at a time as they are iterated."""

    def __init__(self, records: "list[Any]", keep: "Any") -> None:
        self.records = records
        self.keep = keep

    def __iter__(self) -> "Iterator[dict[str, Any]]":
        return _records.iter_dicts(self.records, keep=self.keep)

    def __bool__(self) -> bool:
        return bool(self.records)


#: Report formats by file suffix, longest first (".speedscope.json" before ".json").
SUFFIXES = (
    (".speedscope.json", "speedscope"),
    (".trace.json", "trace"),
    (".json", "json"),
    (".importtime.txt", "importtime"),
    (".txt", "txt"),
    (".html", "html"),
    (".htm", "html"),
)


def suffix_of(path: str) -> "tuple[str, str] | None":
    """(the suffix of *path* that names a report format, that format), or None."""
    low = path.lower()
    for suffix, fmt in SUFFIXES:
        if low.endswith(suffix):
            return path[-len(suffix):], fmt
    return None


def write_report(path: str, data: "dict[str, Any]", claim: "Callable[[], str] | None" = None) -> str:
    """Write a report to *path* in the format its suffix names (see ``_formats``),
    JSON for any other suffix (``/dev/stdout``, ``imports.log``); return the path written.

    JSON, the common case at exit, is written without importing ``_formats``,
    and streamed. *claim*: see :func:`write_text`.
    """
    found = suffix_of(path)
    if found is not None and found[1] != "json":
        from importguard import _formats

        if isinstance(data.get("imports"), Stream):
            data = dict(data, imports=list(data["imports"]))
        return write_text(path, _formats.render(data, found[1]), claim)
    return write_json(path, data, claim)


def write_json(path: str, data: "dict[str, Any]", claim: "Callable[[], str] | None" = None) -> str:
    """Write *data* as JSON to *path* atomically, streamed; return the path written."""
    return write_text(path, iter_json(data, end="\n"), claim)


def _quote() -> "Callable[[str], str]":
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:
        # The program's import system may no longer load extension modules by
        # then (a path hook of its own for .py files only): json's pure-Python
        # twin, the same output.
        from json.encoder import py_encode_basestring_ascii as quote
    return quote


def dumps(data: "Any") -> str:
    """``json.dumps(data, indent=1, ensure_ascii=True)``, without importing ``json``.

    The report is written at exit: a program that never imported ``json``
    would pay ~10 ms for it there (``json`` imports ``re``, which imports
    ``enum``...). The string escaping is ``json``'s own C function; a test
    checks the output equals ``json.dumps``'s for any data the report holds.
    ensure_ascii: module names, paths and messages may hold lone surrogates
    (undecodable file names); escaped, the file is always valid UTF-8 JSON.
    """
    return "".join(iter_json(data))


#: Pieces of text gathered before a streamed chunk is handed to the file.
_CHUNK = 4096


def iter_json(data: "Any", end: str = "") -> "Iterator[str]":
    """:func:`dumps` as chunks of text; the items of a top-level :class:`Stream`
    value are converted and encoded one at a time."""
    quote = _quote()
    out: "list[str]" = []
    add = out.append

    def value(v: "Any", pad: str) -> None:
        if isinstance(v, str):
            add(quote(v))
        elif v is None:
            add("null")
        elif v is True:
            add("true")
        elif v is False:
            add("false")
        elif isinstance(v, int):
            add(int.__repr__(v))
        elif isinstance(v, float):
            if v != v:
                add("NaN")
            elif v in (float("inf"), float("-inf")):
                add("Infinity" if v > 0 else "-Infinity")
            else:
                add(float.__repr__(v))
        elif isinstance(v, dict):
            if not v:
                add("{}")
                return
            inner = pad + " "
            add("{\n" + inner)
            first = True
            for k, item in v.items():
                if not first:
                    add(",\n" + inner)
                first = False
                add(quote(k if isinstance(k, str) else _key(k)) + ": ")
                value(item, inner)
            add("\n" + pad + "}")
        elif isinstance(v, (list, tuple, Stream)):
            inner = pad + " "
            empty = True
            for item in v:
                add(",\n" + inner if not empty else "[\n" + inner)
                empty = False
                value(item, inner)
            add("[]" if empty else "\n" + pad + "]")
        else:
            raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")

    if not isinstance(data, dict) or not any(isinstance(v, Stream) for v in data.values()):
        value(data, "")
        add(end)
        yield "".join(out)
        return
    if not data:
        yield "{}" + end
        return
    add("{\n ")
    first = True
    for k, item in data.items():
        if not first:
            add(",\n ")
        first = False
        add(quote(k if isinstance(k, str) else _key(k)) + ": ")
        if not isinstance(item, Stream):
            value(item, " ")
            continue
        empty = True
        for rec in item:
            add(",\n  " if not empty else "[\n  ")
            empty = False
            value(rec, "  ")
            if len(out) > _CHUNK:
                yield "".join(out)
                del out[:]
        add("[]" if empty else "\n ]")
    add("\n}" + end)
    yield "".join(out)


def _key(k: "Any") -> str:
    # json.dumps turns these key types into strings the same way.
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, (int, float)):
        return repr(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def _special(path: str) -> bool:
    """A device, FIFO or socket (/dev/null, /dev/stdout, /dev/full): written to, never replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def write_text(path: str, text: "str | Iterable[str]", claim: "Callable[[], str] | None" = None) -> str:
    """Write *text* (a string, or chunks of it) to *path* atomically; return the path written.

    A temporary file in the same directory, created with O_EXCL and O_NOFOLLOW
    (a symlink planted at its name is never followed), then ``os.replace``:
    readers see the old file or the whole new one. The mode follows the user's
    umask, as ``open()`` would. Not ``tempfile``: at exit it would import
    ``random`` and ``math``, which an app that rewired its import system (or is
    half torn down) may no longer be able to import.

    *claim*, if given, is called once the text is on disk, under a lock on the
    directory that other importguard processes writing there take too, and
    returns the name to give the file (in *path*'s directory): where a
    process's report goes may depend on what its siblings wrote (see
    ``_session.report_path``).
    """
    chunks = (text,) if isinstance(text, str) else text
    if _special(path):
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
            for chunk in chunks:
                fh.write(chunk)
        return path
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = -1
    for attempt in range(100):
        tmp = os.path.join(directory, f".{base}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            if attempt == 99:
                raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
            for chunk in chunks:
                fh.write(chunk)
        if claim is None:
            os.replace(tmp, path)
        else:
            with _DirectoryLock(directory):
                path = claim()
                if _special(path):
                    with open(tmp, encoding="utf-8", errors="surrogateescape") as src, \
                            open(path, "w", encoding="utf-8", errors="surrogateescape") as dst:
                        while True:
                            block = src.read(1 << 16)
                            if not block:
                                break
                            dst.write(block)
                    os.unlink(tmp)
                else:
                    os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


class _DirectoryLock:
    """An exclusive ``flock`` on a directory: importguard processes that finish
    at the same moment decide one after another which report name is theirs.
    Nothing when the platform or the file system has no such lock."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.fd = -1

    def __enter__(self) -> None:
        try:
            import fcntl

            self.fd = os.open(self.directory, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
