"""What an install gets: every file of the package, the HTML report's assets (package data) included."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, clean_env, run_python


def package_files() -> set[str]:
    """The package's files in the source tree, as paths inside a wheel."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "importguard").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_ships_the_html_assets_and_the_command_line(tmp_path: Path) -> None:
    files = package_files()
    assert {
        "importguard/htmlfiles/report.css",
        "importguard/htmlfiles/report.js",
        "importguard/htmlfiles/advice.css",
        "importguard/_cli/cmdline.py",
    } <= files
    # The build backend runs in pip's isolated build environment (hatchling from the index).
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("importguard-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
        (entry_points,) = [n for n in shipped if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert files - shipped == set()
    assert "importguard = importguard._cli.cmdline:main" in scripts


def test_the_html_report_reads_its_assets_through_the_loader_from_a_zip_too(tmp_path: Path) -> None:
    # A zipped importguard (a zipapp, a zip on sys.path) has no files to open():
    # the assets are read through the module's loader.
    archive = tmp_path / "importguard.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in sorted(package_files()):
            zf.write(ROOT / name, name)
    code = f"""\
        import hashlib, sys
        sys.path.insert(0, {str(archive)!r})
        from importguard import _html
        print(type(_html.__spec__.loader).__name__, _html.__file__.startswith({str(archive)!r}))
        print(hashlib.sha256(_html.render([]).encode("ascii")).hexdigest())
        """
    zipped = run_python(code, cwd=tmp_path, args=["-I"], check=True).stdout.split()
    assert zipped[:2] == ["zipimporter", "True"]
    import hashlib

    from importguard import _html

    here = _html.render([])
    assert zipped[2] == hashlib.sha256(here.encode("ascii")).hexdigest()
    # the same page: the files' text, inlined once each
    for name in ("report.css", "report.js"):
        assert here.count((ROOT / "importguard" / "htmlfiles" / name).read_text(encoding="ascii")) == 1
