"""Writing the report fails: one clear message on stderr, the app's own exit code, nothing raised."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rel_helpers import importguard_lines, run

APPS = {
    "exit 0": ("print('app out')\n", 0),
    "sys.exit(3)": ("import sys\nprint('app out')\nsys.exit(3)\n", 3),
    "uncaught exception": ("print('app out')\nraise ValueError('app failed')\n", 1),
}


def _bad_path(tmp_path: Path, kind: str) -> Path:
    if kind == "missing directory":
        return tmp_path / "no" / "such" / "dir" / "report.json"
    if kind == "path is a directory":
        (tmp_path / "adir").mkdir()
        return tmp_path / "adir"
    if kind == "file inside a file":
        (tmp_path / "afile").write_text("not a directory\n")
        return tmp_path / "afile" / "report.json"
    raise AssertionError(kind)


def _check_one_message(plain, hooked, path: Path) -> None:  # type: ignore[no-untyped-def]
    assert hooked.returncode == plain.returncode
    assert hooked.stdout == plain.stdout == "app out\n"
    # The app's own stderr first, unchanged, then exactly one line from importguard.
    assert hooked.stderr.startswith(plain.stderr)
    extra = hooked.stderr[len(plain.stderr):].splitlines()
    assert len(extra) == 1, hooked.stderr
    assert extra[0].startswith("importguard: writing the report raised ")
    assert "no report was written" in extra[0] and str(path) in extra[0]
    assert "Traceback" not in hooked.stderr[len(plain.stderr):]


@pytest.mark.parametrize("app", list(APPS))
@pytest.mark.parametrize("kind", ["missing directory", "path is a directory", "file inside a file"])
def test_unwritable_report_path(tmp_path: Path, kind: str, app: str) -> None:
    code, expected_rc = APPS[app]
    path = _bad_path(tmp_path, kind)
    plain = run(code, tmp_path, hooked=False)
    hooked = run(code, tmp_path, hooked=True, report=path)
    assert plain.returncode == expected_rc
    _check_one_message(plain, hooked, path)
    # Nothing left behind: no temporary file, the directory still a directory.
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    if kind == "path is a directory":
        assert path.is_dir() and list(path.iterdir()) == []


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device node like /dev/full (1, 7) or /dev/null (1, 3) inside tmp_path.

    Not the real /dev/full: importguard's current atomic write *replaces* the
    node with a regular file, which would destroy the machine's /dev/full.
    """
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError, AttributeError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    return path


@pytest.mark.parametrize("app", list(APPS))
def test_report_to_a_full_device(tmp_path: Path, app: str) -> None:
    code, expected_rc = APPS[app]
    full = _device(tmp_path, "full", 7)
    plain = run(code, tmp_path, hooked=False)
    hooked = run(code, tmp_path, hooked=True, report=full)
    assert plain.returncode == expected_rc
    assert stat.S_ISCHR(full.stat().st_mode), "the device node was replaced by a regular file"
    _check_one_message(plain, hooked, full)
    assert "No space left on device" in hooked.stderr


def test_report_to_a_null_device_keeps_the_device(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", 3)
    plain = run(APPS["exit 0"][0], tmp_path, hooked=False)
    hooked = run(APPS["exit 0"][0], tmp_path, hooked=True, report=null)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert stat.S_ISCHR(null.stat().st_mode), "the device node was replaced by a regular file"


def test_report_write_failure_with_a_full_disk_simulated_by_a_file_size_limit(tmp_path: Path) -> None:
    # RLIMIT_FSIZE with SIGXFSZ ignored: writing the report fails with EFBIG, as on a full disk.
    code = """
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))
        print('app out')
        sys.exit(3)
    """
    report = tmp_path / "report.json"
    plain = run(code, tmp_path, hooked=False)
    hooked = run(code, tmp_path, hooked=True, report=report)
    assert plain.returncode == 3
    _check_one_message(plain, hooked, report)
    assert not report.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert len(importguard_lines(hooked.stderr)) == 1
