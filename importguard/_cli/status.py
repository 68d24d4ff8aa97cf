"""How a command ends: its exit status, and the error that makes it exit 2."""

from __future__ import annotations

#: Exit statuses of every command except ``run`` and ``advise`` (which exit with the program's):
#: nothing found, something found (a failure, a violation, an exceeded budget, a regression),
#: a command line that cannot be carried out.
EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


class UsageError(RuntimeError):
    """A command line that cannot be carried out: exit 2 with this message."""
