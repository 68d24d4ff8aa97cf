"""The JSON report (schema ``importguard.report/1``) and how it reaches disk.

Runs at exit or on request, never on the import path, so it may import ``json``
and ``tempfile``. The schema ships as ``importguard/report.schema.json`` and is
documented in docs/records.md.
"""

import os
import stat
import sys

from importguard import _convert, _exports, _records
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
    imports: "Any" = Stream(records, keep) if stream else _convert.to_dicts(records, keep=keep)
    ids = {id(rec): i for i, rec in enumerate(records)}
    return {
        "schema": SCHEMA,
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "engine": _records.engine,
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
        return _convert.iter_dicts(self.records, keep=self.keep)

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
            return path[-len(suffix) :], fmt
    return None


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


def _per_process(path: str, n: int) -> str:
    """``name.<pid>.ext`` (n=1), ``name.<pid>-n.ext``: before the whole format
    suffix, x.speedscope.json -> x.<pid>.speedscope.json."""
    found = suffix_of(path)
    ext = found[0] if found is not None else os.path.splitext(path)[1]
    tag = str(os.getpid()) if n == 1 else f"{os.getpid()}-{n}"
    return f"{path[: len(path) - len(ext)]}.{tag}{ext}"


#: (configured path, file claimed for it): a later write by this process image
#: (a failed exec, then the exit) replaces its own report.
_claimed: "tuple[str, str] | None" = None
#: The file that was taken when this process had to write elsewhere (for the message).
taken: "str | None" = None


def _forget_claim() -> None:
    global _claimed, taken
    _claimed = taken = None  # in a forked child: the parent's file is the parent's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_claim)


def claim(path: str, root_pid_variable: str, started_ns: int = 0) -> str:
    """Which file this process's report goes to, so that no process silently
    destroys another's records (called with the directory locked, see :func:`write_text`).

    The rule: ``{pid}`` in *path* is replaced by the process id. A process started by a recorded Python process (it inherited
    ``_IMPORTGUARD_ROOT_PID``) writes ``name.<pid>.ext``. Any other writes
    *path*, unless a regular file there was written after the run started (by
    a sibling: ``python a.py; python b.py`` in one shell script, make, tox,
    ``a && b``; or by this very process before it exec'd): then it writes
    ``name.<pid>.ext``. If that one too is from this run, ``name.<pid>-2.ext``
    and so on. A file from an earlier run is replaced, as is this process
    image's own earlier report. See :func:`run_started_ns` for what a run is.
    """
    global _claimed, taken
    if _claimed is not None and _claimed[0] == path:
        return _claimed[1]
    configured = path
    if "{pid}" in path:
        path = path.replace("{pid}", str(os.getpid()))
        first = 0
    else:
        first = 1 if os.environ.get(root_pid_variable, str(os.getpid())) != str(os.getpid()) else 0
    start = run_started_ns(started_ns)
    for n in range(first, 1000):
        candidate = path if n == 0 else _per_process(path, n)
        try:
            st = os.lstat(candidate)
        except OSError:
            break
        if not _S_ISREG(st.st_mode) or st.st_mtime_ns < start:
            break  # a device, a symlink planted there, or a report of an earlier run
        if n == first:
            taken = candidate
    _claimed = (configured, candidate)
    return candidate


def _S_ISREG(mode: int) -> bool:
    return mode & 0o170000 == 0o100000


def run_started_ns(fallback: int = 0) -> int:
    """When the run this process belongs to started, in ns since the epoch.

    A run is the process group: a shell script, make, tox and ``a && b`` in
    one command line share one, while an interactive shell gives each command
    line its own. Its start is the group leader's, from /proc (Linux); if the
    leader has gone, or there is no /proc, this process's own start (an exec'd
    image keeps the start of the process it replaced). One clock tick is added:
    /proc counts start times in ticks, and a file written in the tick the run
    started was written before it.
    """
    try:
        import time

        with open("/proc/self/stat", "rb") as fh:
            own = fh.read()
        fields = own[own.rindex(b")") + 2 :].split()
        pgrp, ticks = int(fields[2]), int(fields[19])
        try:
            with open(f"/proc/{pgrp}/stat", "rb") as fh:
                leader = fh.read()
            lfields = leader[leader.rindex(b")") + 2 :].split()
            if int(lfields[2]) == pgrp and int(lfields[19]) <= ticks:
                ticks = int(lfields[19])
        except (OSError, ValueError, IndexError):
            pass
        hz = os.sysconf("SC_CLK_TCK")
        since_boot_ns = (ticks + 1) * 1_000_000_000 // hz
        return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME) + since_boot_ns
    except (OSError, ValueError, IndexError, AttributeError):
        return fallback


def sibling_line(path: str, written: str, taken: str) -> str:
    """The one line saying this process wrote elsewhere because *taken* holds another process's report."""
    from importguard._globs import one_line

    found = suffix_of(path)
    ext = found[0] if found is not None else os.path.splitext(path)[1]
    merge = ""
    if found is None or found[1] == "json":
        pattern = f"{path[: len(path) - len(ext)]}.*{ext}"
        merge = f"; combine them with: importguard report merge {path} {pattern} -o merged{ext or '.json'}"
    return (
        one_line(
            f"importguard: {taken} holds the report of another process of this run, so this one is in {written}{merge}"
        )
        + "\n"
    )


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
                    with (
                        open(tmp, encoding="utf-8", errors="surrogateescape") as src,
                        open(path, "w", encoding="utf-8", errors="surrogateescape") as dst,
                    ):
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
