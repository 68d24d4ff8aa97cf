"""The corpus: export-check verdicts on pinned real packages, locked in.

These run in their own venv (``.venv-corpus``, Python 3.11, built by
``.ci/run`` from ``tests/corpus/requirements.txt``, with the older side of five
version pairs installed by ``--target`` under ``.venv-corpus/old/NAME`` from
``requirements-old.txt``). CI sets ``IMPORTGUARD_REQUIRE_CORPUS=1``: a missing
package is then an error. Elsewhere the tests skip, saying how to run them:

    bash .ci/run            # or by hand:
    python3.11 -m venv .venv-corpus && .venv-corpus/bin/python -m pip install -e '.[test]' -r tests/corpus/requirements.txt
    (for each line of tests/corpus/requirements-old.txt:
        .venv-corpus/bin/python -m pip install --no-deps --target .venv-corpus/old/NAME NAME==VERSION)
    .venv-corpus/bin/python -m pytest tests/corpus
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OLD = Path(sys.prefix) / "old"


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (HERE / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            dist, _, version = line.partition("==")
            pins[dist] = version
    return pins


PINS = _pins("requirements.txt")
OLD_PINS = _pins("requirements-old.txt")


def _missing() -> list[str]:
    out = []
    for dist, version in PINS.items():
        try:
            found = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found = None
        if found != version:
            out.append(f"{dist}=={version} (found {found})")
    for dist, version in OLD_PINS.items():
        if not (OLD / dist).is_dir():
            out.append(f"{dist}=={version} under {OLD / dist}")
    return out


_MISSING = _missing()
if _MISSING:
    if os.environ.get("IMPORTGUARD_REQUIRE_CORPUS") == "1":
        raise RuntimeError(f"IMPORTGUARD_REQUIRE_CORPUS=1 but the corpus is not installed here: {', '.join(_MISSING)}")
    pytest.skip(
        f"the pinned corpus is not installed in this environment ({len(_MISSING)} missing, e.g. "
        f"{_MISSING[0]}); bash .ci/run builds .venv-corpus and runs these",
        allow_module_level=True,
    )


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD", "PYTHON"))}
    out.update(extra)
    return out


def importguard(cwd: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=600,
    )


def check_json(cwd: Path, *args: str, **extra: str) -> tuple[int, dict[str, Any]]:
    proc = importguard(cwd, "check", *args, "--format", "json", **extra)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize(
    "package, not_counted",
    [
        ("requests", {"OpenSSL", "socks"}),  # urllib3's extras, imported by requests
        ("botocore", {"OpenSSL", "awscrt", "docutils", "winreg"}),  # awscrt: found through botocore.compat
        ("urllib3", {"OpenSSL", "socks", "h2", "js"}),
        ("anyio", {"trio"}),
        ("fastapi", {"jinja2", "httpx2", "httpx"}),
        ("attr", set()),
    ],
)
def test_clean_packages(tmp_path: Path, package: str, not_counted: set[str]) -> None:
    code, data = check_json(tmp_path, package)
    assert code == 0, data
    assert (data["failures"], data["violations"]) == ([], [])
    assert data["modules_checked"] > 0
    assert {f["missing_module"] for f in data["not_counted"]["failures"]} == not_counted
    assert {f["category"] for f in data["not_counted"]["failures"]} <= {"optional", "platform"}


def test_fastapi_lists_pydantic_cores_bug_without_failing() -> None:
    proc = importguard(ROOT, "check", "fastapi")
    assert proc.returncode == 0
    assert "  pydantic_core lacks UNSET (declared by __all__ in" in proc.stdout
    assert importguard(ROOT, "check", "fastapi", "--fail-on-dependencies").returncode == 1


@pytest.mark.parametrize(
    "package, module, names",
    [
        (
            "attrs",
            "attrs",
            ["__author__", "__copyright__", "__description__", "__email__", "__license__", "__title__", "__url__"],
        ),
        ("pydantic_core", "pydantic_core", ["UNSET"]),
        ("sqlalchemy", "sqlalchemy.ext.declarative", ["instrument_declarative"]),
        (
            "pydantic",
            "pydantic.v1.typing",
            [
                "AbstractSetIntStr",
                "AnyClassMethod",
                "CallableGenerator",
                "DictAny",
                "DictIntStrAny",
                "DictStrAny",
                "IntStr",
                "ListStr",
                "MappingIntStrAny",
                "ReprArgs",
                "SetStr",
                "TupleGenerator",
            ],
        ),
    ],
)
def test_real_all_bugs_are_found(tmp_path: Path, package: str, module: str, names: list[str]) -> None:
    code, data = check_json(tmp_path, package)
    assert code == 1
    assert [(v["module"], sorted(set(v["missing"])), v["source"]) for v in data["violations"]] == [
        (module, names, "__all__")
    ]


# The five version pairs: names and modules removed between them are caught from
# a snapshot of the old one; a snapshot of the same install gives nothing.
PAIRS = {
    "urllib3": {"urllib3": ["get_host"], "urllib3.contrib": ["appengine", "ntlmpool", "securetransport"]},
    "werkzeug": {"werkzeug.urls": ["url_decode", "url_encode"], "werkzeug.http": ["parse_authorization_header"]},
    "click": {"click.termui": ["get_terminal_size"], "click.types": ["get_filesystem_encoding"]},
    "sqlalchemy": {"sqlalchemy.exc": ["RemovedIn20Warning"]},
    "pydantic": {"pydantic": ["annotated_types"], "pydantic.fields": ["ModelField"]},
}


@pytest.mark.parametrize("package", sorted(PAIRS))
def test_version_pairs_are_caught_from_snapshots(tmp_path: Path, package: str) -> None:
    old = importguard(tmp_path, "snapshot", package, "-o", "old.lock", PYTHONPATH=str(OLD / package))
    assert old.returncode == 0, old.stderr
    assert f"[{package}]" in (tmp_path / "old.lock").read_text()
    code, data = check_json(tmp_path, package, "--snapshot", "old.lock")
    assert code == 1
    removed: dict[str, set[str]] = {}
    for v in data["violations"]:
        if v["source"] == "snapshot":
            removed.setdefault(v["module"], set()).update(v["missing"])
    for module, names in PAIRS[package].items():
        assert set(names) <= removed.get(module, set()), (module, removed.get(module))
    # the same install, snapshotted and checked: no snapshot violation at all
    new = importguard(tmp_path, "snapshot", package, "-o", "new.lock")
    assert new.returncode == 0, new.stderr
    _code, data = check_json(tmp_path, package, "--snapshot", "new.lock", "--fail-on-dependencies")
    assert [v for v in data["violations"] + data["not_counted"]["violations"] if v["source"] == "snapshot"] == []


@pytest.mark.parametrize("package", ["numpy", "sqlalchemy", "matplotlib"])
def test_imports_in_error_mode_with_stubs_as_the_project(tmp_path: Path, package: str) -> None:
    # Names bound after a module finished, typing-only and other-platform stub
    # names: none of them may break the import. matplotlib 3.10.9 has one real
    # drift (its _docstring.pyi declares dedent_interpd, which the module no
    # longer has): it is found, and accepted here with a reason.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importguard.accept]\n"matplotlib._docstring" = {names = ["dedent_interpd"], reason = '
        '"matplotlib 3.10.9 stub drift"}\n'
    )
    settings = dict(
        IMPORTGUARD="1",
        IMPORTGUARD_SUMMARY="0",
        IMPORTGUARD_STUBS="1",
        IMPORTGUARD_PACKAGES=package,
        IMPORTGUARD_REPORT=str(tmp_path / "r.json"),
    )
    code = f"import {package}\nprint('imported')\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env(IMPORTGUARD_EXPORTS="error", **settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "imported\n", "")
    report = json.loads((tmp_path / "r.json").read_text())
    found = [
        (v["module"], v["missing"], v["source"], v["accepted"])
        for v in report["violations"]
        if v["source"] != "fromlist"
    ]
    expected = [("matplotlib._docstring", ["dedent_interpd"], "stub", "matplotlib 3.10.9 stub drift")]
    assert found == (expected if package == "matplotlib" else [])


def test_pre_commit_hook_runs_check_on_a_repo(tmp_path: Path) -> None:
    """The .pre-commit-hooks.yaml entry, run by real pre-commit on a repo built here."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    # The hook repository: this checkout's files as they are now, committed in a fresh repo.
    hooks = tmp_path / "importguard-repo"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            dst = hooks / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    subprocess.run(["git", "init", "-q"], cwd=hooks, check=True)
    subprocess.run([*git, "add", "-A"], cwd=hooks, check=True)
    subprocess.run([*git, "commit", "-qm", "importguard"], cwd=hooks, check=True)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True
    ).stdout.strip()
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("from .basket import Basket\n__all__ = ['Basket', 'Catalog']\n")
    (project / "shop" / "basket.py").write_text("class Basket: ...\n")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: importguard-check\n        args: [shop]\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]
    run_env = env(PRE_COMMIT_HOME=str(tmp_path / "cache"), PATH=os.environ.get("PATH", ""))
    proc = subprocess.run(pre_commit, cwd=project, env=run_env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "export violation: shop lacks Catalog (declared by __all__" in proc.stdout
    (project / "shop" / "__init__.py").write_text("from .basket import Basket\n__all__ = ['Basket']\n")
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    proc = subprocess.run(pre_commit, cwd=project, env=run_env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "importguard check" in proc.stdout and "Passed" in proc.stdout
