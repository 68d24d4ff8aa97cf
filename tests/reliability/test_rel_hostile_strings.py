"""Hostile text in paths and messages: the report is valid ASCII JSON and round-trips it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import by_name
from rel_helpers import run

MESSAGE = '\udcff <script>"x"\n\x00 \u2028 \\ end'


def test_hostile_paths_and_messages_round_trip(tmp_path: Path) -> None:
    # A directory name with markup, quotes, a newline and an undecodable byte (a lone surrogate in str).
    weird = os.fsencode(str(tmp_path)) + b"/dir <script>\"q'\n\xff"
    os.makedirs(weird)
    (Path(os.fsdecode(weird)) / "hostile_mod.py").write_text(f"raise ValueError({MESSAGE!r})\n")
    (Path(os.fsdecode(weird)) / "ok_mod.py").write_text("X = 1\n")
    code = f"""
        import sys
        sys.path.insert(0, {os.fsdecode(weird)!r})
        import ok_mod
        try:
            import hostile_mod
        except ValueError as e:
            print(ascii(str(e)))
    """
    plain = run(code, tmp_path, hooked=False)
    hooked = run(code, tmp_path, hooked=True)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.stdout == ascii(MESSAGE) + "\n"
    raw = (tmp_path / "report.json").read_bytes()
    assert raw.isascii()  # ensure_ascii: even lone surrogates are escaped
    report = json.loads(raw)
    ok, bad = by_name(report, "ok_mod"), by_name(report, "hostile_mod")
    assert ok["file"] == os.fsdecode(weird) + "/ok_mod.py"
    assert bad["file"] == os.fsdecode(weird) + "/hostile_mod.py"
    assert bad["error"]["type"] == "ValueError" and bad["error"]["message"] == MESSAGE
    assert bad["error"]["traceback"].endswith(f"ValueError: {MESSAGE}\n")
    assert bad["swallowed"] is True
    assert report["internal_errors"] == []


def test_unprintable_and_hostile_exceptions(tmp_path: Path) -> None:
    (tmp_path / "unprintable_mod.py").write_text(
        "class Weird(Exception):\n    def __str__(self):\n        raise RuntimeError('no str for you')\nraise Weird()\n"
    )
    (tmp_path / "bytes_msg_mod.py").write_text("raise ValueError(b'\\xff\\x00</script>', '\\udc80')\n")
    code = """
        for name in ("unprintable_mod", "bytes_msg_mod"):
            try:
                __import__(name)
            except Exception as e:
                print(name, type(e).__name__)
    """
    plain = run(code, tmp_path, hooked=False)
    hooked = run(code, tmp_path, hooked=True)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = json.loads((tmp_path / "report.json").read_bytes())
    assert by_name(report, "unprintable_mod")["error"]["message"] == "<unprintable Weird>"
    assert by_name(report, "bytes_msg_mod")["error"]["message"] == str(ValueError(b"\xff\x00</script>", "\udc80"))
