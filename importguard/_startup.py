"""``importguard.startup_done()``: the program says its startup is over.

Only ``importguard advise`` listens (its child module registers :data:`listener`);
everywhere else the call is one global test. This module imports nothing, so
resolving ``importguard.startup_done`` costs the program this file alone.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Set by ``importguard._advise_child`` in a program that ``importguard advise`` runs.
listener: "Callable[[], None] | None" = None


def startup_done() -> None:
    """Mark the end of the program's startup, for ``importguard advise``.

    A server calls it once it is ready to serve: ``importguard advise`` then
    counts an import as needed at startup only if the program used it before
    this call. Later calls are ignored. Outside ``importguard advise`` (hook on
    or off) it does nothing, imports nothing and never raises.
    """
    hook = listener
    if hook is not None:
        try:
            hook()
        except Exception:
            pass
