"""``importguard bench``: import cost over repeated fresh processes."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``bench``'s options on *parser*."""
    parser.add_argument("targets", nargs="*", metavar="TARGET")


def main(args: argparse.Namespace) -> int:
    """Run ``importguard bench``; return the exit status."""
    raise RuntimeError("bench is not implemented yet")
