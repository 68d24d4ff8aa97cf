"""Patch functions of a module when it is imported, with wrapt (loaded only when used).

``import wrapt`` costs ~125 ms and ~170 modules (2.x imports asyncio), so it is
imported the first time a patch is *applied*, never at startup.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from importguard import _records
from importguard._callbacks import ImportEvent, on_import

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def wrap(module: str, name: str) -> Callable[[Wrapper], Wrapper]:
    """Decorator: wrap ``module.name`` (dotted, e.g. ``"Client.send"``) with a wrapt wrapper.

    The wrapper has wrapt's signature ``(wrapped, instance, args, kwargs)``. It
    is applied as soon as *module* finishes executing (or at once if it is
    already imported), through ``wrapt.wrap_function_wrapper``. A failure to
    patch is reported like any callback error; the import is not affected.
    """

    def decorate(wrapper: Wrapper) -> Wrapper:
        def apply(event: ImportEvent) -> None:
            with _records.quiet():  # wrapt's own imports are importguard's, not the app's
                import wrapt

            target = event.module if event.module is not None else sys.modules[module]
            wrapt.wrap_function_wrapper(target, name, wrapper)

        apply.__qualname__ = f"wrap({module!r}, {name!r})"
        if module in sys.modules:
            apply(ImportEvent(module, "after", sys.modules[module], None, None, 0, None))
        else:
            on_import(module, when="after")(apply)
        return wrapper

    return decorate
