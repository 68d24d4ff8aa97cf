"""The ``importguard`` command line (also ``python -m importguard``): the parser and ``main``.

Every subcommand is one module of this package, registered in :data:`COMMANDS`;
the parser is built from that table alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Protocol

from importguard import __version__
from importguard._cli import advise, bench, check, compare, report, run, snapshot
from importguard._cli.status import EXIT_USAGE


class Command(Protocol):
    """What a command module provides."""

    #: One line, for ``importguard --help``.
    HELP: str
    #: A paragraph, for ``importguard COMMAND --help``.
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's options (and actions) on *parser*."""

    def main(self, args: argparse.Namespace) -> int:
        """Carry the command out; return the exit status."""


#: The subcommands, in the order ``importguard --help`` lists them: (name, its module).
COMMANDS: tuple[tuple[str, Command], ...] = (
    ("check", check),
    ("snapshot", snapshot),
    ("run", run),
    ("bench", bench),
    ("compare", compare),
    ("advise", advise),
    ("report", report),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="importguard", description="Import-time checks and measurements.")
    parser.add_argument("--version", action="version", version=f"importguard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS:
        one = sub.add_parser(name, help=command.HELP, description=command.DESCRIPTION)
        command.add_arguments(one)
        one.set_defaults(func=command.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RuntimeError as exc:
        sys.stderr.write(f"importguard {args.command}: {exc}\n")
        return EXIT_USAGE
