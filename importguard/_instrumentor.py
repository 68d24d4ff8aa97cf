"""``opentelemetry-instrument python app.py`` support (entry point ``opentelemetry_instrumentor``).

The OpenTelemetry auto-instrumentation configures the SDK from ``OTEL_*``
variables inside ``import sitecustomize`` and then calls ``instrument()`` on
every registered instrumentor. By then the ``.pth`` hook (``IMPORTGUARD=1``)
has recorded everything imported before the SDK existed; ``instrument()``
sends that backlog, and the bridge stays live from there. Imports still in
progress at that moment (``sitecustomize`` itself) are ended when they finish.

Duck-typed like ``BaseInstrumentor`` (``instrument``, ``uninstrument``,
``instrumentation_dependencies``) so that ``opentelemetry-instrumentation`` is
not a dependency of importguard.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any


class ImportguardInstrumentor:
    """Sends the imports recorded by importguard as spans once the SDK is configured."""

    def instrumentation_dependencies(self) -> Collection[str]:
        """No library to instrument: the import system is always there."""
        return ()

    def instrument(self, **kwargs: Any) -> None:
        """Emit the backlog now. Does nothing if the hook is off (``IMPORTGUARD`` unset)."""
        from importguard import _hook

        if not _hook.installed():
            return
        from importguard import _otel

        _otel.emit()

    def uninstrument(self, **kwargs: Any) -> None:
        """Stop emitting spans as imports finish (records are still kept)."""
        from importguard import _hook

        if not _hook.installed():
            return
        from importguard import _otel

        _otel.stop()
