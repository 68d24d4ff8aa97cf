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


def build(settings: "dict[str, Any] | None" = None) -> "dict[str, Any]":
    """The report of this process so far, as a JSON-ready dict."""
    settings = settings or {}
    records = _records.buffer[:]
    imports = _records.to_dicts(records, keep=selector(settings))
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


def write_report(path: str, data: "dict[str, Any]") -> str:
    """Write a report to *path* in the format its suffix names (see ``_formats``),
    JSON for any other suffix (``/dev/stdout``, ``imports.log``); return *path*.

    JSON, the common case at exit, is written without importing ``_formats``.
    """
    found = suffix_of(path)
    if found is not None and found[1] != "json":
        from importguard import _formats

        return _formats.write(path, data, found[1])
    return write_json(path, data)


def write_json(path: str, data: "dict[str, Any]") -> str:
    """Write *data* as JSON to *path* atomically; return *path*."""
    return write_text(path, dumps(data) + "\n")


def dumps(data: "Any") -> str:
    """``json.dumps(data, indent=1, ensure_ascii=True)``, without importing ``json``.

    The report is written at exit: a program that never imported ``json``
    would pay ~10 ms for it there (``json`` imports ``re``, which imports
    ``enum``...). The string escaping is ``json``'s own C function; a test
    checks the output equals ``json.dumps``'s for any data the report holds.
    ensure_ascii: module names, paths and messages may hold lone surrogates
    (undecodable file names); escaped, the file is always valid UTF-8 JSON.
    """
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:
        # The program's import system may no longer load extension modules by
        # then (a path hook of its own for .py files only): json's pure-Python
        # twin, the same output.
        from json.encoder import py_encode_basestring_ascii as quote

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
        elif isinstance(v, (list, tuple)):
            if not v:
                add("[]")
                return
            inner = pad + " "
            add("[\n" + inner)
            for i, item in enumerate(v):
                if i:
                    add(",\n" + inner)
                value(item, inner)
            add("\n" + pad + "]")
        else:
            raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")

    value(data, "")
    return "".join(out)


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


def write_text(path: str, text: str) -> str:
    """Write *text* to *path* atomically; return *path*.

    A temporary file in the same directory, created with O_EXCL and O_NOFOLLOW
    (a symlink planted at its name is never followed), then ``os.replace``:
    readers see the old file or the whole new one. The mode follows the user's
    umask, as ``open()`` would. Not ``tempfile``: at exit it would import
    ``random`` and ``math``, which an app that rewired its import system (or is
    half torn down) may no longer be able to import.
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        # A device, FIFO or socket (/dev/null, /dev/stdout, /dev/full): write to it;
        # replacing it would swap the node itself for a regular file.
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(text)
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
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
