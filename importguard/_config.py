"""Configuration: environment variables and ``[tool.importguard]``, validated into plain values.

This runs at interpreter startup (from the ``.pth`` file), so it uses builtins
only: no ``attrs``, no ``re``, no ``warnings``. The typed, attrs-based
:class:`importguard.Config` is built from the plain dict returned here, on
demand (see ``_types.py``). A ``pyproject.toml`` that does not mention
importguard is not parsed (a substring test on its text). One that does is
never parsed in this process at startup: ``tomllib`` (``tomli`` on 3.10) loads
~40 modules (``re``, ``enum``, ``typing``, ``datetime``...), which would then
be missing from the program's import tree, as if they cost nothing. The
validated table is read from a cache written with ``marshal`` (a builtin),
keyed by the file's path and checked against its whole content; on a miss a
forked child parses and validates it and sends the result back (see
:func:`table_settings`).

Every problem becomes one message that names the setting, what it accepts and
what importguard does instead; the program always runs.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
_BOOL_HELP = "1, true, yes, on to enable; 0, false, no, off or empty to disable"
#: Longer than any path an OS opens (Linux PATH_MAX): refused when read, with one
#: message, instead of an unreadable error at exit.
_MAX_PATH = 4096
#: A list setting with more bad entries than this gets one message for all of them.
_LIST_SHOWN = 3

#: Every setting: key in [tool.importguard], environment variable, kind, default.
#: ``enabled`` and ``config`` are environment-only: a file cannot switch the hook
#: on (it is read only once the hook is on) nor point at another file.
SETTINGS: "dict[str, tuple[str, str, Any]]" = {
    "enabled": ("IMPORTGUARD", "bool", False),
    "report": ("IMPORTGUARD_REPORT", "path", None),
    "include": ("IMPORTGUARD_INCLUDE", "globs", ()),
    "exclude": ("IMPORTGUARD_EXCLUDE", "globs", ()),
    "inherit": ("IMPORTGUARD_INHERIT", "bool", True),
    "hooks": ("IMPORTGUARD_HOOKS", "hooks", ()),
    "entry_points": ("IMPORTGUARD_ENTRY_POINTS", "bool", False),
    "summary": ("IMPORTGUARD_SUMMARY", "auto-bool", "auto"),
    "config": ("IMPORTGUARD_CONFIG", "path", None),
    "exports_mode": ("IMPORTGUARD_EXPORTS", "mode", "warn"),
    "packages": ("IMPORTGUARD_PACKAGES", "names", ()),
    "snapshot": ("IMPORTGUARD_SNAPSHOT", "path", None),
    "stubs": ("IMPORTGUARD_STUBS", "bool", False),
    "otel": ("IMPORTGUARD_OTEL", "bool", True),
    "min_ms": ("IMPORTGUARD_MIN_MS", "ms", 0.0),
    "otlp": ("IMPORTGUARD_OTLP", "url", None),
    "max_records": ("IMPORTGUARD_MAX_RECORDS", "count", 20_000),
    "redact": ("IMPORTGUARD_REDACT", "bool", False),
    "metrics": ("IMPORTGUARD_METRICS", "bool", False),
    "engine": ("IMPORTGUARD_ENGINE", "engine", "auto"),
    "sigterm": ("IMPORTGUARD_SIGTERM", "bool", True),
    # Tables: [tool.importguard.exports] and [tool.importguard.accept]; no variable.
    "exports": ("", "contracts", {}),
    "accept": ("", "accept", {}),
    "modes": ("", "modes", {}),
}
#: Tables read by commands (``bench``, ``check``), never by the hook: validated
#: here at startup like every other key, so a typo is reported wherever
#: importguard runs, but kept out of ``SETTINGS`` because the hook has no use
#: for them and :class:`importguard.Config` has no field for them.
COMMAND_SETTINGS: "dict[str, tuple[str, str, Any]]" = {
    "budgets": ("", "budgets", {}),
    "check": ("", "check", {}),
}
#: Export-check modes, weakest first.
MODES = ("off", "record", "warn", "error")
#: How imports are recorded (docs/engines.md): auto picks function where it is usable, else finder.
ENGINES = ("auto", "function", "finder")
ENV_ONLY = ("enabled", "config")
#: Units a budget may be written in, as nanoseconds per unit.
_UNITS = {"ms": 1_000_000, "s": 1_000_000_000, "us": 1_000, "\u00b5s": 1_000}

_ACCEPTS = {
    "bool": _BOOL_HELP,
    "auto-bool": "auto (on when stderr is a terminal), or " + _BOOL_HELP,
    "path": "a file path",
    "globs": "comma-separated module globs such as myapp,myapp.* (names, dots, * and ?)",
    "hooks": "comma-separated module or module:callable entries such as myhooks:setup",
    "mode": "off, record, warn or error",
    "engine": "auto, function or finder",
    "ms": "a number of milliseconds, 0 or more, such as 5 or 0.5",
    "url": "an http:// or https:// URL such as http://127.0.0.1:4318",
    "count": "a whole number, 100 or more",
    "names": "comma-separated package names such as myapp,mylib (or a TOML list)",
    "contracts": 'a table of module (or glob) = ["Name", ...], e.g. "app.monitoring" = ["MetricsCollector"]',
    "accept": 'a table of module = "reason", or module = {names = ["Name"], reason = "..."}',
    "modes": 'a table of module (or glob) = "off", "record", "warn" or "error"',
    "budgets": 'a table of module = time with a unit (ms, s or us), e.g. "myapp" = "150ms", "myapp.cli" = "40ms"',
    "check": 'a table with exclude = a list of module globs, e.g. exclude = ["myapp.tests.*"]',
}


class ConfigProblem:
    """One problem found in the configuration: the setting, where it came from, and the message."""

    __slots__ = ("setting", "source", "message")

    def __init__(self, setting: str, source: str, message: str) -> None:
        self.setting = setting
        self.source = source
        self.message = message

    def __str__(self) -> str:
        from importguard._globs import one_line  # _globs: only where a setting needs it, not at every startup

        return one_line(f"importguard: {self.message}")


def defaults() -> "dict[str, Any]":
    """The value of every setting when nothing is configured."""
    return {key: default for key, (_env, _kind, default) in SETTINGS.items()}


def _parse_bool(raw: str) -> bool | None:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _q(value: "Any") -> str:
    """A value as a message quotes it: short, and on one line whatever it holds."""
    if isinstance(value, str):
        from importguard._globs import short_repr

        return short_repr(value)
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}... (a {type(value).__name__} of {len(text):,} characters)"


def _short_path(path: str) -> str:
    """A path as a message shows it: whole up to 200 characters (a path of
    thousands would bury the message), then its start and its length."""
    return path if len(path) <= 200 else f"{path[:200]}... ({len(path):,} characters)"


def _entry_problems(key: str, where: str, whys: "list[str]", expected: str, problems: "list[ConfigProblem]") -> None:
    """One message for all the bad entries of one list or table: a file or a
    variable with thousands of them is still one setting to fix."""
    if not whys:
        return
    if len(whys) == 1:
        problems.append(ConfigProblem(key, where, f"{where}: {whys[0]}; that entry is ignored. Expected {expected}."))
        return
    shown = "; ".join(whys[:_LIST_SHOWN])
    more = f"; and {len(whys) - _LIST_SHOWN:,} more" if len(whys) > _LIST_SHOWN else ""
    problems.append(
        ConfigProblem(
            key,
            where,
            f"{where}: {len(whys):,} entries are not valid: {shown}{more}; "
            f"those entries are ignored. Expected {expected}.",
        )
    )


def _hook_problem(spec: str) -> str | None:
    module, _, obj = spec.partition(":")
    parts = module.split(".") + (obj.split(".") if obj else [])
    if not module or (_ and not obj) or not all(p.isidentifier() for p in parts):
        return f"{_q(spec)} is not module or module:callable"
    return None


def glob_problem(pattern: str) -> str | None:
    """``_globs.glob_problem``: _globs loads when a setting holds globs, not at every startup."""
    from importguard._globs import glob_problem as problem

    return problem(pattern)


def _name_problem(name: str) -> str | None:
    if all(part.isidentifier() for part in name.split(".")):
        return None
    return f"{_q(name)} is not a module name"


def _contracts(value: "Any", where: str, problems: "list[ConfigProblem]", bad: "Any") -> "dict[str, tuple[str, ...]]":
    if not isinstance(value, dict):
        return bad(f"a {type(value).__name__}")  # type: ignore[no-any-return]
    out: dict[str, tuple[str, ...]] = {}
    whys: list[str] = []
    for module, names in value.items():
        why = glob_problem(module)
        if why is None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            why = f"{_q(module)} must map to a list of names"
        if why is None:
            odd = [n for n in names if not n.isidentifier()]
            if odd:
                why = f"{_q(module)} lists {_q(odd[0])}, which is not a Python name"
        if why is not None:
            whys.append(why)
            continue
        out[module] = tuple(names)
    _entry_problems("exports", where, whys, _ACCEPTS["contracts"], problems)
    return out


def _accepts(
    value: "Any", where: str, problems: "list[ConfigProblem]", bad: "Any"
) -> "dict[str, tuple[tuple[str, ...] | None, str]]":
    """module -> (names or None for all, reason). A reason is required: an
    accepted violation is a decision someone has to be able to revisit."""
    if not isinstance(value, dict):
        return bad(f"a {type(value).__name__}")  # type: ignore[no-any-return]
    out: dict[str, tuple[tuple[str, ...] | None, str]] = {}
    whys: list[str] = []
    for module, entry in value.items():
        names: tuple[str, ...] | None = None
        reason = entry
        if isinstance(entry, dict):
            reason = entry.get("reason")
            raw = entry.get("names")
            if isinstance(raw, list) and all(isinstance(n, str) for n in raw):
                names = tuple(raw)
            elif raw is not None:
                reason = None
        if glob_problem(module) is not None or not isinstance(reason, str) or not reason.strip():
            whys.append(f"{_q(module)} needs a non-empty reason (and names, if given, as a list)")
            continue
        out[module] = (names, reason)
    _entry_problems("accept", where, whys, _ACCEPTS["accept"], problems)
    return out


def parse_duration_ns(value: "Any") -> "tuple[int | None, str]":
    """A budget such as ``"150ms"``, ``"0.2s"`` or ``"500us"``, as nanoseconds.

    Returns ``(ns, "")``, or ``(None, why)`` when *value* is not a positive
    time with a unit. A bare number is refused: whether ``150`` means
    milliseconds or seconds is exactly the mistake a budget must not hide.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None, "a number without a unit"
        return None, f"a {type(value).__name__}"
    text = value.strip().lower().replace(" ", "")
    for unit in ("ms", "us", "\u00b5s", "s"):  # "s" last: it ends the others too
        if text.endswith(unit):
            number_text = text[: -len(unit)]
            break
    else:
        return None, "no unit"
    try:
        number = float(number_text)
    except ValueError:
        return None, "not a number followed by a unit"
    if not number > 0 or number == float("inf"):
        return None, "not a positive time"
    return int(round(number * _UNITS[unit])), ""


def budget_entries(value: "Any") -> "tuple[dict[str, int], list[tuple[str, Any, str]]]":
    """Validate a ``[tool.importguard.budgets]`` table.

    Returns ``({module: budget_ns}, [(module, raw value, why it is wrong)])``.
    ``bench`` and ``check`` use this directly: for them a bad budget is an
    error, not something to skip, since a gate that silently drops a budget
    passes what it should fail.
    """
    good: dict[str, int] = {}
    bad: list[tuple[str, Any, str]] = []
    for module, raw in value.items():
        why = _name_problem(module)
        ns = None
        if why is None:
            ns, why = parse_duration_ns(raw)
        if ns is None:
            bad.append((module, raw, why or "not valid"))
        else:
            good[module] = ns
    return good, bad


def _coerce(key: str, value: "Any", where: str, problems: "list[ConfigProblem]") -> "Any":
    """Validate one value (a str from the environment, or a TOML value) for *key*.

    Returns the validated value, or the default after appending a problem.
    """
    _env, kind, default = SETTINGS[key] if key in SETTINGS else COMMAND_SETTINGS[key]
    fallback = "importguard stays off" if key == "enabled" else f"Using the default ({default!r})"

    def bad(why: str) -> "Any":
        problems.append(
            ConfigProblem(
                key,
                where,
                f"{where}={_q(value)} is not valid ({why}); expected {_ACCEPTS[kind]}. {fallback}.",
            )
        )
        return default

    if kind in ("bool", "auto-bool"):
        if isinstance(value, bool):
            return value
        if not isinstance(value, str):
            return bad(f"a {type(value).__name__}")
        if kind == "auto-bool" and value.strip().lower() == "auto":
            return "auto"
        parsed = _parse_bool(value)
        if parsed is not None:
            return parsed
        return bad("not auto or a yes/no word" if kind == "auto-bool" else "not a yes/no word")
    if kind == "path":
        if isinstance(value, str):
            if "\x00" in value:
                return bad("it contains a NUL character")
            if len(value) > _MAX_PATH:
                return bad(f"longer than the {_MAX_PATH} characters a path can have")
            return value or None
        return bad(f"a {type(value).__name__}")
    if kind == "ms":
        try:
            number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or not number >= 0 or number == float("inf"):
            return bad("not a non-negative number")
        return number
    if kind == "count":
        try:
            number = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or number < 100:
            return bad("not a whole number of 100 or more")
        return number
    if kind == "url":
        if isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value:
            return value
        return bad("not an http(s) URL")
    if kind == "mode":
        if isinstance(value, str) and value.strip().lower() in MODES:
            return value.strip().lower()
        return bad("not a mode")
    if kind == "engine":
        if isinstance(value, str) and value.strip().lower() in ENGINES:
            return value.strip().lower()
        return bad("not an engine")
    if kind == "contracts":
        return _contracts(value, where, problems, bad)
    if kind == "accept":
        return _accepts(value, where, problems, bad)
    if kind == "modes":
        if not isinstance(value, dict):
            return bad(f"a {type(value).__name__}")
        modes: dict[str, str] = {}
        whys: list[str] = []
        for module, mode in value.items():
            if glob_problem(module) is None and isinstance(mode, str) and mode.strip().lower() in MODES:
                modes[module] = mode.strip().lower()
            else:
                whys.append(f"{_q(module)} = {_q(mode)} is not valid")
        _entry_problems("modes", where, whys, _ACCEPTS["modes"], problems)
        return modes
    if kind == "check":
        # [tool.importguard.check]: read by `importguard check`, validated here like every key.
        if not isinstance(value, dict):
            return bad(f"a {type(value).__name__}")
        unknown = [k for k in value if k != "exclude"]
        globs = value.get("exclude", [])
        if unknown or not (
            isinstance(globs, list) and all(isinstance(g, str) and glob_problem(g) is None for g in globs)
        ):
            return bad(f"unknown key {unknown[0]!r}" if unknown else "exclude is not a list of module globs")
        return {"exclude": tuple(globs)}
    if kind == "budgets":
        if not isinstance(value, dict):
            return bad(f"a {type(value).__name__}")
        budgets, wrong = budget_entries(value)
        for module, raw, reason in wrong:
            problems.append(
                ConfigProblem(
                    "budgets",
                    where,
                    f"{where}: {module!r} = {raw!r} is not valid ({reason}); "
                    f"that entry is ignored. Expected {_ACCEPTS['budgets']}.",
                )
            )
        return budgets
    # globs, hooks and names: a comma-separated string in the environment, a list in TOML.
    if isinstance(value, str):
        items = _split(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        return bad(f"a {type(value).__name__}")
    check = {"globs": glob_problem, "hooks": _hook_problem, "names": _name_problem}[kind]
    good = []
    whys = []
    for item in items:
        why = check(item)
        if why is None:
            good.append(item)
        else:
            whys.append(why)
    _entry_problems(key, where, whys, _ACCEPTS[kind], problems)
    return tuple(good)


def from_environ(environ: "Mapping[str, str]", problems: "list[ConfigProblem]") -> "dict[str, Any]":
    """The settings given by environment variables (only those that are set)."""
    out: dict[str, Any] = {}
    for key, (env, _kind, _default) in SETTINGS.items():
        raw = environ.get(env) if env else None
        if raw is not None:
            out[key] = _coerce(key, raw, env, problems)
    return out


def find_pyproject(start: str) -> str | None:
    """The nearest ``pyproject.toml`` at or above *start*, or ``None``."""
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        up = os.path.dirname(here)
        if up == here:
            return None
        here = up


def _load_toml(text: str) -> "dict[str, Any]":
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 in CI
        import tomli as tomllib
    return tomllib.loads(text)


def _read_regular(path: str) -> bytes:
    """The bytes of the regular file *path*; OSError for anything else.

    A FIFO would block the program's start for ever, /dev/zero never ends and
    /dev/stdin would eat the program's input: opened without blocking, then
    checked on the open file (no race with a path swapped in between).
    """
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def read_table(path: str, explicit: bool, problems: "list[ConfigProblem]") -> "dict[str, Any] | None":
    """Return the ``[tool.importguard]`` table of *path*, or ``None`` if there is none.

    A file that does not mention ``importguard`` is not parsed at all.
    *explicit* means the user named the file (``IMPORTGUARD_CONFIG``), so a
    missing file is a problem rather than a normal absence. This parses in the
    calling process (``importguard bench`` and ``check`` use it); the startup
    path uses :func:`table_settings`, which does not.
    """
    data = _read_file(path, explicit, problems)
    if data is None or b"importguard" not in data:
        return None
    return _parse_table(path, data, problems)


def _read_file(path: str, explicit: bool, problems: "list[ConfigProblem]") -> "bytes | None":
    try:
        return _read_regular(path)
    except OSError as exc:
        if explicit or not isinstance(exc, FileNotFoundError):
            problems.append(
                ConfigProblem(
                    "config",
                    path,
                    f"cannot read {_short_path(path)} ({exc.strerror or exc}); [tool.importguard] settings from it are "
                    "ignored. Fix the path or permissions (IMPORTGUARD_CONFIG names the file).",
                )
            )
        return None


def _parse_table(path: str, data: bytes, problems: "list[ConfigProblem]") -> "dict[str, Any] | None":
    """The ``[tool.importguard]`` table in the TOML text *data* (imports ``tomllib``)."""
    try:
        text = data.decode("utf-8")
        doc = _load_toml(text)
    except Exception as exc:  # tomllib.TOMLDecodeError, UnicodeDecodeError
        problems.append(
            ConfigProblem(
                "config",
                path,
                f"{_short_path(path)} is not valid TOML ({exc}); its [tool.importguard] settings are ignored. "
                "Fix the file, or point IMPORTGUARD_CONFIG at another one.",
            )
        )
        return None
    tool = doc.get("tool")
    table = tool.get("importguard") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        problems.append(
            ConfigProblem("config", path, f"{_short_path(path)}: tool.importguard must be a table; it is ignored.")
        )
        return None
    return table


# -- the startup path: a validated table without importing tomllib here ----------------------
#
# Measured on Python 3.11, `python -c pass` with IMPORTGUARD=1 in a project whose
# pyproject.toml has a [tool.importguard] table (docs/configuration.md has the table):
# parsing here loads 44 modules; a forked child that parses and sends back a
# marshalled dict loads none here and costs about what parsing here costs (the
# parent waits for it); reading the cache costs a stat-free read of one small file
# and marshal.loads. So: the cache first, the child on a miss, and parsing here
# only where there is no fork (or it failed), once: that run writes the cache.

#: Bumped when what is cached changes shape.
_CACHE_FORMAT = 1
#: A cache file larger than this is not read (the largest table accepted is far smaller).
_CACHE_MAX = 64 * 1024 * 1024


def _problem_tuples(problems: "list[ConfigProblem]") -> "list[tuple[str, str, str]]":
    return [(p.setting, p.source, p.message) for p in problems]


def _settle_table(path: str, data: bytes) -> "tuple[dict[str, Any] | None, list[tuple[str, str, str]]]":
    """Parse and validate *data* (the file at *path*): (settings from its table or None, problems)."""
    problems: list[ConfigProblem] = []
    table = _parse_table(path, data, problems)
    settings = from_table(table, path, problems) if table is not None else None
    return settings, _problem_tuples(problems)


def cache_dir(environ: "Mapping[str, str] | None" = None) -> "str | None":
    """Where parsed configurations are cached: ``$XDG_CACHE_HOME/importguard``
    (default ``~/.cache/importguard``), or None without a home directory."""
    base = (os.environ if environ is None else environ).get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "importguard")


def _cache_file(path: str, environ: "Mapping[str, str] | None") -> "str | None":
    import _imp

    directory = cache_dir(environ)
    if directory is None:
        return None
    # A stable 64-bit SipHash of the path (the builtin behind hash-based .pyc
    # files); hash() would change with every process's PYTHONHASHSEED.
    digest = _imp.source_hash(_CACHE_FORMAT, path.encode("utf-8", "surrogatepass")).hex()
    return os.path.join(directory, f"config-{digest}.{sys.implementation.cache_tag}")


def _cache_key(path: str, data: bytes) -> "tuple[Any, ...]":
    # The validation rules are this file's: a new importguard must not read an
    # old one's verdicts. Its size and mtime change with any install.
    try:
        st = os.stat(__file__)
        code = (st.st_size, st.st_mtime_ns)
    except OSError:
        code = None
    return (_CACHE_FORMAT, code, path, data)


def _cache_read(cache: str, key: "tuple[Any, ...]") -> "Any":
    """The cached (settings, problems) for *key*, or None. Never raises."""
    import marshal

    try:
        fd = os.open(
            cache,
            os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0),
        )
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        # Only a regular file this user wrote: it decides what the program's start imports (hooks).
        if (
            st.st_mode & 0o170000 != 0o100000
            or st.st_size > _CACHE_MAX
            or (hasattr(os, "getuid") and st.st_uid != os.getuid())
            or st.st_mode & 0o022
        ):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            blob = fh.read()
        stored = marshal.loads(blob)
        if type(stored) is tuple and len(stored) == 2 and stored[0] == key:
            outcome = stored[1]
            if type(outcome) is tuple and len(outcome) == 2 and (outcome[0] is None or type(outcome[0]) is dict):
                return outcome
    except Exception:  # corrupt, truncated, from another Python: a miss
        pass
    finally:
        os.close(fd)
    return None


def _cache_write(cache: str, key: "tuple[Any, ...]", outcome: "Any") -> None:
    """Store *outcome* for *key*, atomically (readers see the old file or the new one). Never raises."""
    import marshal

    tmp = None
    try:
        blob = marshal.dumps((key, outcome))
        directory = os.path.dirname(cache)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp, flags, 0o600)
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, cache)
        tmp = None
    except Exception:  # unwritable, full, read-only: the next start parses again
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _settle_in_child(path: str, data: bytes) -> "Any":
    """Parse and validate in a forked child that sends the marshalled result back
    through a pipe, so no module it imports is left in this process. None if
    there is no fork here or the child did not deliver."""
    import marshal

    fork = getattr(os, "fork", None)
    if fork is None or sys.modules.get("_thread") is None:
        return None
    thread = sys.modules["_thread"]
    # With other threads running, a fork can deadlock the child (a lock held
    # by a thread that does not exist there) and 3.12+ warns about it.
    if getattr(thread, "_count", lambda: 1)() != 0:
        return None
    real_exit = getattr(sys.modules.get(os.name), "_exit", None)
    if real_exit is None:
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:  # out of file descriptors: parse here
        return None
    try:
        pid = fork()
    except Exception:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: parse, send, leave without running anything else
        status = 1
        try:
            os.close(read_end)
            # Nothing it does may reach the program's stderr: under -X importtime
            # its own imports would be printed there as if the program made them.
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            blob = marshal.dumps(_settle_table(path, data))
            view = memoryview(blob)
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            real_exit(status)
    os.close(write_end)
    chunks = []
    wait_status = 0
    try:
        while True:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        chunks = []
    finally:
        os.close(read_end)
        try:
            _pid, wait_status = os.waitpid(pid, 0)
        except OSError:  # SIGCHLD ignored (inherited): the child reaped itself; its data decides
            pass
    if wait_status != 0:
        return None
    try:
        # The child writes the whole blob before it exits: a cut one does not load.
        outcome = marshal.loads(b"".join(chunks))
    except Exception:
        return None
    if type(outcome) is tuple and len(outcome) == 2:
        return outcome
    return None


def table_settings(
    path: str, explicit: bool, problems: "list[ConfigProblem]", environ: "Mapping[str, str] | None" = None
) -> "dict[str, Any] | None":
    """The validated ``[tool.importguard]`` settings of *path* (None: no table), for the startup path.

    The same settings and the same problems as :func:`read_table` followed by
    :func:`from_table`, but this process imports nothing to get them: the
    outcome comes from the cache when the file's content is the one cached, or
    else from a forked child (then it is cached). Without ``fork`` (Windows),
    with other threads running, or if the child fails, the file is parsed here
    (its modules load early that once) and the cache is written, so the next
    start reads it. An unwritable or corrupt cache only costs the next start
    another parse.
    """
    data = _read_file(path, explicit, problems)
    if data is None or b"importguard" not in data:
        return None
    cache = _cache_file(path, environ)
    key = _cache_key(path, data)
    outcome = _cache_read(cache, key) if cache is not None else None
    if outcome is None:
        outcome = _settle_in_child(path, data)
        if outcome is None:
            outcome = _settle_table(path, data)
        if cache is not None:
            _cache_write(cache, key, outcome)
    settings, found = outcome
    problems.extend(ConfigProblem(setting, source, message) for setting, source, message in found)
    return settings


def from_table(table: "Mapping[str, Any]", path: str, problems: "list[ConfigProblem]") -> "dict[str, Any]":
    """Validate a ``[tool.importguard]`` table; unknown keys are reported, never fatal."""
    out: dict[str, Any] = {}
    known = [k for k in SETTINGS if k not in ENV_ONLY] + list(COMMAND_SETTINGS)
    for key, value in table.items():
        norm = key.replace("-", "_")
        if norm not in known:
            problems.append(
                ConfigProblem(
                    key,
                    path,
                    f"{_short_path(path)}: unknown key {_q(key)} in [tool.importguard]; it is ignored. "
                    f"Known keys: {', '.join(known)}.",
                )
            )
            continue
        out[norm] = _coerce(norm, value, f"[tool.importguard] {key}", problems)
    return out


def load(
    environ: "Mapping[str, str] | None" = None, cwd: str | None = None
) -> "tuple[dict[str, Any], list[ConfigProblem]]":
    """Build the effective settings: defaults < ``[tool.importguard]`` < environment.

    Returns the settings (plus ``project_root``, derived) and the problems
    found; never raises for bad input.
    ``report`` comes back absolute, resolved against *cwd* now, because the
    program may ``chdir`` before the report is written at exit.
    """
    if environ is None:
        environ = os.environ
    if cwd is None:
        cwd = os.getcwd()
    problems: list[ConfigProblem] = []
    env = from_environ(environ, problems)
    settings = defaults()
    # ``config`` reports the file the table came from, not the raw variable.
    explicit = env.pop("config", None)
    path = os.path.join(cwd, explicit) if explicit else find_pyproject(cwd)
    # The project's own modules are the files under the pyproject.toml's
    # directory (derived, not a setting): they get the export-check mode.
    settings["project_root"] = os.path.dirname(os.path.abspath(path)) if path and not explicit else None
    if path is not None:
        from_file = table_settings(path, explicit is not None, problems, environ)
        if from_file is not None:
            settings.update(from_file)
            settings["config"] = path
            # A report path in the file is relative to the file, not to wherever the
            # program happened to start.
            for key in ("report", "snapshot"):
                if settings[key] and key not in env:
                    settings[key] = os.path.join(os.path.dirname(path), settings[key])
    settings.update(env)
    for key in ("report", "snapshot"):
        if settings[key]:
            settings[key] = os.path.abspath(os.path.join(cwd, settings[key]))
    snapshot = settings["snapshot"]
    if snapshot and os.path.exists(snapshot) and not os.path.isfile(snapshot):
        # Read at startup: a FIFO or a device there would hang or flood the program's start.
        problems.append(
            ConfigProblem(
                "snapshot",
                snapshot,
                f"the snapshot {_short_path(snapshot)} is not a "
                "regular file; snapshot checks are off. Point it at the file written "
                "by: importguard snapshot PKG... -o FILE",
            )
        )
        settings["snapshot"] = None
    return settings, problems
