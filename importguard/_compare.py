"""``importguard compare``: noise-aware regression report between two bench results."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``compare``'s options on *parser*."""
    parser.add_argument("base", metavar="BASE.json")
    parser.add_argument("new", metavar="NEW.json")


def main(args: argparse.Namespace) -> int:
    """Run ``importguard compare``; return the exit status."""
    raise RuntimeError("compare is not implemented yet")
