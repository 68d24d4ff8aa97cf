"""Typed result and configuration objects (attrs), built on demand from plain values.

Nothing on the import path creates these: the hook keeps lists, the
configuration loader keeps a dict, and this module (which imports ``attrs``,
~55 ms) is loaded only when code asks for records or the config.
"""

from __future__ import annotations

from typing import Any

import attrs

from importguard import _config


@attrs.frozen
class ImportFailure:
    """Why an import failed.

    Attributes:
        type: the exception's class name (module-qualified unless builtin).
        message: ``str()`` of the exception.
        traceback: the traceback text, importlib's and importguard's frames removed.
        caused_by: id of the nested import whose failure this one is, or ``None``.
    """

    type: str
    message: str
    traceback: str
    caused_by: int | None = None


@attrs.frozen
class ImportRecord:
    """One real import made by the process (a module found and executed, or a failure).

    Attributes mirror the JSON report (``importguard.report/1``): ``status`` is
    ``"ok"``, ``"not_found"`` (no finder had a spec), ``"error"`` (finding or
    executing the module raised) or ``"incomplete"`` (still running).
    ``swallowed`` is set on failures once the importer finished: ``True`` when
    the importer went on (``except ImportError``), ``False`` when the error
    escaped, ``None`` while unknown. ``verdict`` is what the failed import
    statement the record belongs to did, shared by its whole cascade:
    ``"probe"``, ``"swallowed"``, ``"escaped"`` or ``"unsettled"`` (docs/records.md,
    "Verdicts"). Times are nanoseconds; ``start_ns`` is since the epoch,
    ``duration_ns`` is cumulative and ``self_ns`` excludes nested imports;
    ``gc_ns`` is the garbage collection inside ``self_ns``.
    """

    id: int
    name: str
    parent: str | None
    parent_id: int | None
    thread: int
    thread_name: str | None
    start_ns: int
    duration_ns: int | None
    self_ns: int | None
    status: str
    error: ImportFailure | None
    swallowed: bool | None
    file: str | None
    loader: str | None
    importer: tuple[str, int] | None = None
    fromlist: bool = False
    duplicate_of: int | None = None
    verdict: str | None = None
    gc_ns: int = 0
    gc_cumulative_ns: int = 0

    @property
    def failed(self) -> bool:
        """Whether the import raised (``not_found`` or ``error``)."""
        return self.status in ("not_found", "error")

    @property
    def routine_probe(self) -> bool:
        """A missing optional dependency: not installed, and the import statement was caught
        (for ``from org.python.core import X`` without ``org``, every record of it)."""
        if self.verdict is not None:
            return self.verdict == "probe"
        return self.status == "not_found" and self.swallowed is True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportRecord:
        """Build from one entry of a report's ``imports`` list."""
        values = dict(data)
        if values.get("error") is not None:
            values["error"] = ImportFailure(**values["error"])
        if values.get("importer") is not None:
            values["importer"] = (values["importer"]["file"], values["importer"]["line"])
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _tuple_of_str(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Config:
    """The effective configuration: defaults < ``[tool.importguard]`` < environment.

    Attributes:
        enabled: ``IMPORTGUARD``.
        report: absolute path of the JSON report written at exit (``IMPORTGUARD_REPORT``).
        include / exclude: module globs selecting what reports show.
        inherit: whether child processes inherit the hook (``IMPORTGUARD_INHERIT``).
        hooks: ``module[:callable]`` entries loaded at startup (``IMPORTGUARD_HOOKS``).
        entry_points: whether ``importguard.hooks`` entry points are loaded.
        summary: ``"auto"``, ``True`` or ``False`` (``IMPORTGUARD_SUMMARY``).
        config: the file the ``[tool.importguard]`` table came from, if any.
        exports_mode: what an export violation in the project's own modules
            does: ``off``, ``record``, ``warn`` (default) or ``error``
            (``IMPORTGUARD_EXPORTS``); other modules are checked in ``record``
            mode at most, since their users cannot fix them.
        packages: the project's own packages (``IMPORTGUARD_PACKAGES``); by
            default, modules under the ``pyproject.toml``'s directory.
        snapshot: the snapshot file (``IMPORTGUARD_SNAPSHOT``; by default
            ``importguard.lock`` next to ``pyproject.toml``, when it exists).
        stubs: whether the names a ``.pyi`` stub next to a project module
            declares are checked at import time (``IMPORTGUARD_STUBS``; costs
            a directory listing per package; ``importguard check`` always does).
        otel: whether imports become OpenTelemetry spans once the app sets a
            TracerProvider (``IMPORTGUARD_OTEL``; ``OTEL_SDK_DISABLED`` also
            turns it off).
        min_ms: only successful imports whose cumulative time is at least
            this become spans (``IMPORTGUARD_MIN_MS``); failures and modules
            with violations always do, under their nearest sent ancestor.
        otlp: an OTLP/HTTP endpoint (``IMPORTGUARD_OTLP``, set by
            ``importguard run --otlp``): if the program set no TracerProvider
            of its own, one is configured at exit to send the import spans
            there (needs the ``sdk`` extra).
        max_records: records kept in memory (``IMPORTGUARD_MAX_RECORDS``);
            past it the fastest successful ones are folded into per-module
            totals (still reported and sent); failures and violations never are.
        redact: exception messages are replaced by ``<redacted>`` in reports
            and spans (``IMPORTGUARD_REDACT``): they can hold secrets.
        metrics: import durations and failures are also recorded as
            OpenTelemetry metrics when the app has a MeterProvider
            (``IMPORTGUARD_METRICS``; see ``importguard._metrics``).
        engine: how imports are recorded (``IMPORTGUARD_ENGINE``): ``auto``
            (default: ``function`` where importlib's private function is
            usable, else ``finder``), ``function`` or ``finder``; see
            docs/engines.md.
        sigterm: whether a SIGTERM with the default disposition writes the
            report before the process dies of it (``IMPORTGUARD_SIGTERM``,
            default on); off, SIGTERM keeps ``SIG_DFL`` (see
            docs/reliability.md for when to turn it off).
        exports: ``[tool.importguard.exports]``: module (or glob) to the names
            it must provide.
        accept: ``[tool.importguard.accept]``: known violations, module to
            (names or None for all, reason).
        modes: ``[tool.importguard.modes]``: module (or glob) to the export
            mode for it, overriding ``exports_mode`` (most specific first).
    """

    enabled: bool = False
    report: str | None = None
    include: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    exclude: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    inherit: bool = True
    hooks: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    entry_points: bool = False
    summary: bool | str = "auto"
    config: str | None = None
    exports_mode: str = "warn"
    packages: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    snapshot: str | None = None
    stubs: bool = False
    otel: bool = True
    min_ms: float = 0.0
    otlp: str | None = None
    max_records: int = 20_000
    redact: bool = False
    metrics: bool = False
    engine: str = "auto"
    sigterm: bool = True
    exports: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    accept: dict[str, tuple[tuple[str, ...] | None, str]] = attrs.field(factory=dict)
    modes: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Config:
        """Build from the plain dict that ``_config.load`` validated."""
        return cls(**{k: settings[k] for k in _config.SETTINGS if k in settings})

    @classmethod
    def load(cls) -> tuple[Config, list[str]]:
        """Read the environment and ``pyproject.toml`` now; return the config and its problems."""
        settings, problems = _config.load()
        return cls.from_settings(settings), [str(p) for p in problems]
