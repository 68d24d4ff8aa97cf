"""Writing the report fails: one clear message on stderr, the app's own exit code, nothing raised."""

from __future__ import annotations

import json
import os
import stat
import sys
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
    extra = hooked.stderr[len(plain.stderr) :].splitlines()
    assert len(extra) == 1, hooked.stderr
    assert extra[0].startswith("importguard: writing the report raised ")
    assert "no report was written" in extra[0] and str(path) in extra[0]
    assert "Traceback" not in hooked.stderr[len(plain.stderr) :]


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


def _read_only_run(tmp_path: Path, code: str, report: Path):  # type: ignore[no-untyped-def]
    """Run hooked with *report* inside a read-only directory: a read-only tmpfs in a
    private mount namespace when running as root (root writes through any mode bits),
    else mode 0555."""
    import shutil
    import subprocess
    import textwrap

    from conftest import hooked_env
    from rel_helpers import Run

    ro = report.parent
    ro.mkdir()
    env = hooked_env(report)
    if os.geteuid() != 0:
        ro.chmod(0o555)
        cmd = [sys.executable, "-c", textwrap.dedent(code)]
    else:
        if not shutil.which("unshare"):
            pytest.skip("root, and no unshare for a read-only mount")
        script = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'
        cmd = [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(ro),
            sys.executable,
            "-c",
            textwrap.dedent(code),
        ]
        probe = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(ro), "true"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            pytest.skip(f"cannot mount a read-only directory here: {probe.stderr.strip()}")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr, None)


@pytest.mark.parametrize("app", list(APPS))
def test_report_in_a_read_only_directory(tmp_path: Path, app: str) -> None:
    code, expected_rc = APPS[app]
    report = tmp_path / "ro" / "report.json"
    plain = run(code, tmp_path, hooked=False)
    hooked = _read_only_run(tmp_path, code, report)
    assert plain.returncode == expected_rc
    _check_one_message(plain, hooked, report)
    assert "Read-only file system" in hooked.stderr or "Permission denied" in hooked.stderr


def test_failed_write_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    # Atomic: the new report goes to a temporary file first; when that fails (full
    # disk), the report already there is neither truncated nor half-replaced.
    report = tmp_path / "report.json"
    old = json.dumps({"schema": "importguard.report/1", "marker": "the previous run"})
    report.write_text(old)
    code = """
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))
        print('app out')
    """
    from conftest import hooked_env, run_python

    proc = run_python(code, cwd=tmp_path, env=hooked_env(report))
    assert proc.returncode == 0 and len(importguard_lines(proc.stderr)) == 1
    assert report.read_text() == old
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_report_mode_follows_the_umask(tmp_path: Path, umask: int) -> None:
    code = f"import os\nos.umask({umask:#o})\nimport json\n"
    hooked = run(code, tmp_path, hooked=True)
    assert hooked.returncode == 0 and hooked.report is not None
    assert stat.S_IMODE((tmp_path / "report.json").stat().st_mode) == 0o666 & ~umask


def test_symlink_at_the_report_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    # A symlink planted at the report's name (a shared directory) must not make the
    # report overwrite whatever it points at.
    victim = tmp_path / "precious.txt"
    victim.write_text("do not touch\n")
    report = tmp_path / "report.json"
    report.symlink_to(victim)
    from conftest import hooked_env, run_python

    proc = run_python("import json\n", cwd=tmp_path, env=hooked_env(report))
    assert proc.returncode == 0 and proc.stderr == ""
    assert victim.read_text() == "do not touch\n"
    assert not report.is_symlink() and json.loads(report.read_text())["schema"] == "importguard.report/1"


def test_symlink_planted_at_the_temporary_name_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temporary file's name has 32 random bits; should an attacker guess it and
    # plant a symlink there, O_EXCL|O_NOFOLLOW refuse it and another name is drawn.
    from importguard import _report

    victim = tmp_path / "precious.txt"
    victim.write_text("do not touch\n")
    draws = iter([b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    planted = tmp_path / f".report.json.{os.getpid()}.00000001.tmp"
    planted.symlink_to(victim)
    _report.write_text(str(tmp_path / "report.json"), "the report\n")
    assert victim.read_text() == "do not touch\n" and planted.is_symlink()
    assert (tmp_path / "report.json").read_text() == "the report\n"
    assert not (tmp_path / f".report.json.{os.getpid()}.00000002.tmp").exists()
