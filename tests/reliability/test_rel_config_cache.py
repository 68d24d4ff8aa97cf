"""The parsed-configuration cache and the child that parses on a miss, under bad conditions.

Whatever state the cache is in, the program behaves as plain (same output,
same exit status), importguard says at most what the table itself is wrong
about, and the modules the program imports are the ones it imports plain.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rel_helpers import importguard_lines, names, plain_and_hooked

PROGRAM = (
    "import sys\nearly = sorted(m for m in sys.modules if m in ('re', 'enum', 'tomllib'))\nimport json\nprint(early)\n"
)
TABLE = "[tool.importguard]\nsummary = '0'\nbogus = 1\n"


def cache_file(cache: Path) -> Path:
    (found,) = (cache / "importguard").glob("config-*")
    return found


def spoil(kind: str, cache: Path) -> None:
    path = cache_file(cache)
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:10])
    elif kind == "garbage":
        path.write_bytes(os.urandom(300))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "fifo":
        path.unlink()
        os.mkfifo(path)  # opened without blocking, then refused: no hang
    elif kind == "directory":
        path.unlink()
        path.mkdir()
    elif kind == "world-writable":
        path.chmod(0o666)
    elif kind == "read-only dir":
        path.unlink()
        (cache / "importguard").chmod(stat.S_IRUSR | stat.S_IXUSR)
    elif kind == "cache dir is a file":
        for p in (cache / "importguard").iterdir():
            if p.is_dir():
                p.rmdir()
            else:
                p.unlink()
        (cache / "importguard").rmdir()
        (cache / "importguard").write_text("")


@pytest.mark.parametrize(
    "kind",
    ["truncated", "garbage", "empty", "fifo", "directory", "world-writable", "read-only dir", "cache dir is a file"],
)
def test_a_spoiled_cache_changes_nothing(tmp_path: Path, kind: str) -> None:
    if kind == "read-only dir" and os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    (tmp_path / "pyproject.toml").write_text(TABLE)
    cache = tmp_path / "cache"
    plain, first = plain_and_hooked(PROGRAM, tmp_path, XDG_CACHE_HOME=str(cache))
    assert first.stdout == plain.stdout == "[]\n"  # json loaded, none of tomllib's modules early
    want = importguard_lines(first.stderr)
    assert len(want) == 1 and "unknown key 'bogus'" in want[0]
    spoil(kind, cache)
    for _ in range(2):  # the spoiled cache, then whatever the first run left
        _plain, hooked = plain_and_hooked(PROGRAM, tmp_path, XDG_CACHE_HOME=str(cache))
        assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
        assert importguard_lines(hooked.stderr) == want
        assert {"re", "enum"} <= set(names(hooked.report))  # imported by json, where it imports them
