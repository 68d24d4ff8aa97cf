"""The README's opening demo does what the README says it does."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, clean_env


def demo_command() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if "examples.shop" in x and x.startswith("python3 -m venv"))
    return shlex.split(line.split("&&")[-1])


def test_the_demo_shows_each_problem_of_the_example_app(tmp_path: Path) -> None:
    words = demo_command()
    env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
    argv = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
    assert argv[:3] == [".venv/bin/python", "-m", "examples.shop"]
    assert env["IMPORTGUARD_REPORT"] == "imports.html"
    env["IMPORTGUARD_REPORT"] = str(tmp_path / "imports.html")  # not into the work tree
    proc = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('{"basket": ')
    for finding in (
        "examples.shop.catalog",  # the slow import
        "examples.shop.plugins.loyalty: KeyError: 'SHOP_LOYALTY_POINTS' [swallowed]",
        "examples.shop lacks Basket (declared by __all__) [warn]",
        "ExportWarning: examples.shop does not provide names it declares it exports",
    ):
        assert finding in proc.stderr
    # The interpreter's own probes (sitecustomize, Debian's apport_python_hook) are listed beside it.
    (probes,) = [x for x in proc.stderr.splitlines() if "optional imports not found (caught by the importer): " in x]
    assert "shop_speedups" in probes.split(": ", 1)[1].split(", ")
    assert (tmp_path / "imports.html").read_text().startswith("<!DOCTYPE html>")
