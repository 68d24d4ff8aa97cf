"""``importguard snapshot``: record the public names of every module of some packages.

The names are taken in the same child interpreter ``check`` walks with (see
``walker``), and written in the stable text format of ``importguard._snapshot``.
"""

from __future__ import annotations

import argparse
import os
import sys

from importguard import _snapshot
from importguard._cli.status import EXIT_OK
from importguard._cli.walker import DEFAULT_TIMEOUT_S, check_settings, run_walker, seconds

HELP = "record the public names of every module of the packages"
DESCRIPTION = (
    "Record the public names of every module of PKG in a stable text format. With the file present "
    "(importguard.lock next to pyproject.toml, or the `snapshot` setting), a name that disappears is an "
    "export violation; a new one is not."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``snapshot``'s options on *parser*."""
    parser.add_argument("packages", nargs="+", metavar="PKG")
    parser.add_argument("-o", "--output", default="importguard.lock", help="file to write, - for stdout")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="leave out modules matching GLOB"
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"a module still importing after this long fails (default {DEFAULT_TIMEOUT_S:g})",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``importguard snapshot``; return the exit status."""
    table_exclude, _accept = check_settings()
    # The snapshot being written is not read while writing it.
    data = run_walker(
        args.packages, "snapshot", args.python, [*table_exclude, *args.exclude], args.timeout, snapshot=os.devnull
    )
    text = _snapshot.dumps(data["api"])
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from importguard._report import write_text

        write_text(args.output, text)
        sys.stderr.write(f"importguard: wrote the public names of {len(data['api'])} modules to {args.output}\n")
    from importguard._summary import failed_statements

    real, _ = failed_statements(data["imports"])
    for r, _root in real:
        if any(r["name"] == p or r["name"].startswith(p + ".") for p in args.packages):
            sys.stderr.write(f"importguard: warning: {r['name']} failed to import; its names are not in the snapshot\n")
    return EXIT_OK
