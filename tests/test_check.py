"""`importguard check` and `importguard snapshot`: real packages, a real child interpreter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conftest import clean_env, hooked_env, run_python, write_tree
from test_exports import MONITORING


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_finds_the_seed_incident(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    proc = cli(tmp_path, "check", "app")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert (
        "import failed: app.monitoring.alerts: because app.monitoring.core failed: ModuleNotFoundError: "
        "No module named 'app.monitoring.core' [swallowed] (from "
    ) in out
    assert "export violation: app.monitoring lacks PerformanceMetric (declared by __all__" in out
    assert "lacks PerformanceMetric, alert_manager, CompactAlertManager (declared by pyproject" in out
    assert out.rstrip().endswith("importguard check app: 6 modules checked, 1 failed imports, 2 export violations")


def test_check_clean_package_exits_zero(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'ok'\n",
            "okpkg/__init__.py": "__all__ = ['a', 'helper']\nfrom . import a\ndef helper(): ...\n",
            "okpkg/a.py": """
            try:
                import optional_thing_xyz
            except ImportError:
                pass
            try:  # a parent package that is not there: still a routine probe
                from org_jython_like.python.core import PyStringMap
            except ImportError:
                pass
        """,
            "okpkg/__main__.py": "raise SystemExit('running me is not importing me')\n",
        },
    )
    proc = cli(tmp_path, "check", "okpkg")
    assert (proc.returncode, proc.stdout.strip()) == (
        0,
        "importguard check okpkg: 2 modules checked, 0 failed imports, 0 export violations",
    )


def test_check_resolves_lazy_names_and_reports_a_raise(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "lazy/__init__.py": """
            __all__ = ["fine", "broken"]
            def __getattr__(name):
                if name == "fine":
                    return 1
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        """,
        },
    )
    proc = cli(tmp_path, "check", "lazy", "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    (v,) = data["violations"]
    assert v["missing"] == ["broken"] and v["lazy"] == ["fine"]
    assert "AttributeError" in v["related_failures"][0]["error"]


def test_check_formats(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    gh = cli(tmp_path, "check", "app", "--format", "github").stdout.splitlines()
    assert any(
        line.startswith("::error file=") and "title=export violation%3A app.monitoring::" in line for line in gh
    )  # ":" escaped in properties
    junit = cli(tmp_path, "check", "app", "--format", "junit").stdout
    suite = ET.fromstring(junit)
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert {"app.monitoring", "app.monitoring.alerts"} <= failed
    assert "app" not in failed


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert cli(tmp_path, "check").returncode == 2
    assert cli(tmp_path, "frobnicate").returncode == 2
    proc = cli(tmp_path, "check", "x", "--python", str(tmp_path / "no-such-python"))
    assert proc.returncode == 2 and "importguard check:" in proc.stderr


def test_snapshot_then_a_lost_name_is_a_violation(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'api'\n",
            "api/__init__.py": "from .core import Client, connect\nimport os\n",
            "api/core.py": "class Client: ...\ndef connect(): ...\n_private = 1\n",
        },
    )
    proc = cli(tmp_path, "snapshot", "api")
    assert proc.returncode == 0, proc.stderr
    lock = (tmp_path / "importguard.lock").read_text()
    assert lock.splitlines()[0] == "# importguard snapshot 1"
    assert "[api]\nClient\nconnect\n\n" in lock  # os is an import, not API; api.core has its own section
    assert "[api.core]\nClient\nconnect\n" in lock
    # A refactor drops `connect` from the package and adds `Session`.
    (tmp_path / "api" / "__init__.py").write_text("from .core import Client, Session\n")
    (tmp_path / "api" / "core.py").write_text("class Client: ...\nclass Session: ...\n")
    report = tmp_path / "r.json"
    env = hooked_env(IMPORTGUARD_REPORT=str(report), IMPORTGUARD_EXPORTS="error")
    proc = run_python("import api\n", cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert "ExportError: api.core does not provide names it declares it exports:" in proc.stderr
    assert "connect  (declared by the snapshot" in proc.stderr
    assert cli(tmp_path, "check", "api").returncode == 1


def test_corrupt_or_newer_snapshot_is_one_message(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"pyproject.toml": "[project]\nname='x'\n", "importguard.lock": "# importguard snapshot 9\n[m]\nx\n"}
    )
    env = hooked_env()
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n"
    assert proc.stderr.count("\n") == 1 and "written by a newer importguard" in proc.stderr
    (tmp_path / "importguard.lock").write_text("# importguard snapshot 1\n[m]\nnot a name\n")
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n" and "line 3: 'not a name' is not a Python name" in proc.stderr
    assert proc.stderr.startswith("importguard: the default snapshot, importguard.lock next to pyproject.toml: ")
    # The default file name is read only if it is a regular file: a FIFO there would block the start for ever.
    (tmp_path / "importguard.lock").unlink()
    os.mkfifo(tmp_path / "importguard.lock")
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n" and proc.stderr.count("\n") == 1 and "not a regular file" in proc.stderr
    # A snapshot named by the setting is named in the message.
    (tmp_path / "other.lock").write_text("garbage\n")
    proc = run_python("print('ran')", cwd=tmp_path, env={**env, "IMPORTGUARD_SNAPSHOT": "other.lock"})
    assert proc.stdout == "ran\n" and proc.stderr.startswith("importguard: IMPORTGUARD_SNAPSHOT")


def test_stub_declared_names(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'typed'\n",
            "typed/__init__.py": "from .impl import run\n",
            "typed/__init__.pyi": """
            import sys
            from .impl import run as run
            from os import path
            def stop() -> None: ...
            VERSION: str
            if sys.version_info >= (99, 0):
                def future() -> None: ...
            else:
                def present() -> None: ...
        """,
            "typed/impl.py": "def run(): ...\n",
        },
    )
    proc = cli(tmp_path, "check", "typed", "--format", "json")
    assert proc.returncode == 1
    (v,) = json.loads(proc.stdout)["violations"]
    assert (v["source"], sorted(v["missing"])) == ("stub", ["VERSION", "present", "stop"])
    # at import time only when asked for
    assert run_python("import typed", cwd=tmp_path, env=hooked_env(IMPORTGUARD_EXPORTS="error")).returncode == 0
    proc = run_python("import typed", cwd=tmp_path, env=hooked_env(IMPORTGUARD_EXPORTS="error", IMPORTGUARD_STUBS="1"))
    assert proc.returncode == 1 and "(declared by the stub" in proc.stderr


def dist_info(base: Path, name: str, version: str, top: str, requires: tuple[str, ...] = ()) -> None:
    """Installed-distribution metadata, as pip leaves it, for a package written under *base*."""
    info = base / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {req}\n" for req in requires)
    (info / "METADATA").write_text(meta)
    (info / "top_level.txt").write_text(top + "\n")


def test_check_classifies_failures_by_root_cause(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_tree(
        site,
        {
            "reqdep/__init__.py": "",
            "optpkg/__init__.py": "",
            "optpkg/core.py": "import reqdep\n",
            # socks is PySocks: module and distribution names differ; the extra names the distribution
            "optpkg/contrib/__init__.py": "",
            "optpkg/contrib/socks.py": "import fancysocks_xyz\n",
            "optpkg/contrib/socks2.py": "from fancysocks_xyz import proxy\n",
            "optpkg/compat.py": "try:\n    import fancycrt_xyz\nexcept ImportError:\n    pass\n",
            "optpkg/crt.py": "from optpkg.compat import fancycrt_xyz\n",  # the root is compat's own failed import
            "optpkg/win.py": "import winreg\n",
            "optpkg/tests/__init__.py": "",
            "optpkg/tests/test_a.py": "import fakepytest_xyz\n",
            "optpkg/tests/test_b.py": "import fakepytest_xyz\n",
            "optpkg/broken.py": "raise RuntimeError('a real failure')\n",
            "needpkg/__init__.py": "import missingdep_xyz\n",
        },
    )
    dist_info(site, "reqdep", "1.0", "reqdep")
    dist_info(
        site,
        "optpkg",
        "2.0",
        "optpkg",
        (
            "reqdep>=1",
            'PyFancySocks; extra == "socks"',
            'fancycrt-xyz; extra == "crt"',
            'fakepytest-xyz; extra == "test"',
            'pywin32; sys_platform == "win32"',
        ),
    )
    dist_info(site, "needpkg", "1.0", "needpkg", ("missingdep-xyz",))
    proc = cli(tmp_path, "check", "optpkg", "needpkg", PYTHONPATH=str(site))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "import failed: optpkg.broken: RuntimeError: a real failure [raised]" in out
    assert (
        "import failed: needpkg: because missingdep_xyz failed: ModuleNotFoundError: No module named "
        "'missingdep_xyz' [raised]"
    ) in out
    assert "not counted, missing optional dependencies: 5" in out
    assert (
        "  2 modules failed because fakepytest_xyz is not installed (not required by optpkg 2.0: an optional "
        "dependency): optpkg.tests.test_a, optpkg.tests.test_b"
    ) in out
    assert (
        "  2 modules failed because fancysocks_xyz is not installed (not required by optpkg 2.0: an optional "
        "dependency): optpkg.contrib.socks, optpkg.contrib.socks2"
    ) in out
    assert "  1 module failed because fancycrt_xyz is not installed (not required by optpkg 2.0" in out
    assert (
        "not counted, other platforms: 1\n  1 module failed because winreg is not in this platform's standard "
        "library: optpkg.win"
    ) in out
    assert out.rstrip().endswith(
        "importguard check optpkg needpkg: 13 modules checked, 2 failed imports, 0 export violations; 6 not counted"
    )
    data = json.loads(cli(tmp_path, "check", "optpkg", "needpkg", "--format", "json", PYTHONPATH=str(site)).stdout)
    (need,) = [r for r in data["failures"] if r["name"] == "needpkg"]
    assert need["category"] == "failure"
    assert need["reason"] == (
        "missingdep_xyz is not installed, and needpkg 1.0 requires missingdep-xyz, which is not installed either"
    )
    assert data["modules_checked"] == 13


def test_check_exclude_accept_and_each_failure_once(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
            [project]
            name = "gated"
            [tool.importguard.check]
            exclude = ["gated.tests", "gated.tests.*"]
            [tool.importguard.accept]
            "gated.legacy" = "JIRA-7: legacy module, removed next release"
        """,
            "gated/__init__.py": "",
            "gated/legacy.py": "import gone_module_xyz.sub\n",
            "gated/broken.py": "raise ValueError('boom')\n",
            # imports gated.broken again after the walker did: still one failure
            "gated/retry.py": "try:\n    import gated.broken\nexcept ValueError:\n    pass\n",
            "gated/tests/__init__.py": "raise SystemExit('tests must not be imported')\n",
            "gated/experimental.py": "raise ImportError('work in progress')\n",
        },
    )
    proc = cli(tmp_path, "check", "gated", "--exclude", "gated.experimental")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("import failed: gated.broken:") == 1
    assert "import failed: gated.tests" not in out and "import failed: gated.experimental" not in out
    assert (
        "not counted, accepted in [tool.importguard.accept]: 1\n  1 module failed because accepted: JIRA-7: "
        "legacy module, removed next release: gated.legacy"
    ) in out
    assert "excluded: 2 modules (--exclude, [tool.importguard.check] exclude): gated.experimental, gated.tests" in out
    assert out.rstrip().endswith(
        "importguard check gated: 4 modules checked, 1 failed imports, 0 export violations; 1 not counted"
    )
    (tmp_path / "gated" / "broken.py").write_text("")
    assert cli(tmp_path, "check", "gated", "--exclude", "gated.experimental").returncode == 0
    # a bad table is a usage error
    (tmp_path / "pyproject.toml").write_text("[tool.importguard.check]\nexclude = 'gated.tests'\n")
    proc = cli(tmp_path, "check", "gated")
    assert proc.returncode == 2 and "[tool.importguard] check" in proc.stderr, proc.stderr


def test_a_dependencys_violation_does_not_fail_the_check(tmp_path: Path) -> None:
    # fastapi and pydantic_core's __all__: listed as information unless asked.
    write_tree(
        tmp_path,
        {
            "vendor/depmod.py": "__all__ = ['UNSET']\n",
            "mine/__init__.py": "import depmod\n__all__ = ['depmod']\n",
        },
    )
    proc = cli(tmp_path, "check", "mine", PYTHONPATH=str(tmp_path / "vendor"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "  depmod lacks UNSET (declared by __all__ in" in proc.stdout
    proc = cli(tmp_path, "check", "mine", "--fail-on-dependencies", PYTHONPATH=str(tmp_path / "vendor"))
    assert proc.returncode == 1 and "export violation: depmod lacks UNSET" in proc.stdout


def test_check_timeout_interrupts_a_hanging_module_and_goes_on(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "slowpkg/__init__.py": "",
            "slowpkg/a_hangs.py": "import time\nwhile True:\n    try:\n        time.sleep(60)\n    except Exception:\n        pass\n",
            "slowpkg/b_fine.py": "__all__ = ['gone']\n",
        },
    )
    proc = cli(tmp_path, "check", "slowpkg", "--timeout", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "import failed: slowpkg.a_hangs: importguard._walk.ImportTimeout: importing slowpkg.a_hangs took longer "
        "than 1 s (importguard check --timeout); it was interrupted [raised]"
    ) in proc.stdout
    assert "export violation: slowpkg.b_fine lacks gone" in proc.stdout
    assert cli(tmp_path, "check", "slowpkg", "--timeout", "soon").returncode == 2


def test_killing_check_kills_the_walker_and_leaves_no_temp_file(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "stuck/__init__.py": "import os, time\nopen('walker.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)\n",
        },
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        (tmp_path / "walker.pid").unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "importguard", "check", "stuck"],
            cwd=tmp_path,
            env=clean_env(TMPDIR=str(temp)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not (tmp_path / "walker.pid").exists() or not (tmp_path / "walker.pid").read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        walker = int((tmp_path / "walker.pid").read_text())
        proc.send_signal(signum)
        proc.communicate(timeout=60)
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while True:
            try:
                os.kill(walker, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, f"walker {walker} still running after {signum!r}"
            time.sleep(0.05)
        assert list(temp.iterdir()) == [], signum


def test_progress_line_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    write_tree(tmp_path, {"prog/__init__.py": "", "prog/a.py": "", "prog/b.py": ""})
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "importguard", "check", "prog"],
        cwd=tmp_path,
        env=clean_env(TERM="xterm"),
        stdout=subprocess.PIPE,
        stderr=secondary,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(main)
    assert proc.returncode == 0
    assert b"\r\x1b[Kimportguard check: 3 modules, importing prog.b" in shown
    assert shown.endswith(b"\r\x1b[K")
    assert b"\r" not in out and cli(tmp_path, "check", "prog").stderr == ""


def test_snapshot_scope_and_same_install_gives_no_violation(tmp_path: Path) -> None:
    # Incidental imports are not API (34 of 87 "removed" urllib3 names were):
    # a module without __all__ records its public names less modules and objects
    # from other distributions or the standard library; re-exports of its own stay.
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'scoped'\n",
            "scoped/__init__.py": """
            from __future__ import absolute_import
            from collections import namedtuple, OrderedDict
            from typing import Optional
            import json
            from .models import Model, DEFAULT
            from . import models
            Point = namedtuple("Point", "x y")
            LIMIT = 10
            def helper(): ...
        """,
            "scoped/models.py": "class Model: ...\nDEFAULT = Model()\n",
            "scoped/declared.py": "__all__ = ['here', 'not_here']\nhere = 1\n",
            "scoped/hook-scoped.py": "raise SystemExit('a PyInstaller hook, never imported')\n",
            "scoped/_private.py": "x = 1\n",
        },
    )
    proc = cli(tmp_path, "snapshot", "scoped")
    assert proc.returncode == 0, proc.stderr
    lock = (tmp_path / "importguard.lock").read_text()
    assert "[scoped]\nDEFAULT\nLIMIT\nModel\nPoint\nhelper\n\n" in lock  # submodules have their own sections
    assert "[scoped.declared]\nhere\n\n" in lock  # __all__, less the name it lacks
    assert "hook-scoped" not in lock
    # Checking the same install against it: nothing from the snapshot.
    data = json.loads(cli(tmp_path, "check", "scoped", "--format", "json").stdout)
    assert [v["source"] for v in data["violations"]] == ["__all__"]  # not_here, the real one
    # Dropping an unused import is not an API regression; dropping a public module is.
    init = tmp_path / "scoped" / "__init__.py"
    init.write_text(init.read_text().replace("from typing import Optional\n", "").replace("import json\n", ""))
    (tmp_path / "scoped" / "_private.py").unlink()
    data = json.loads(cli(tmp_path, "check", "scoped", "--format", "json").stdout)
    assert [v["source"] for v in data["violations"]] == ["__all__"]
    (tmp_path / "scoped" / "declared.py").unlink()
    proc = cli(tmp_path, "check", "scoped")
    assert proc.returncode == 1
    assert "export violation: scoped lost modules declared (an API regression against the snapshot" in proc.stdout
    gh = cli(tmp_path, "check", "scoped", "--format", "github").stdout
    assert "::error file=scoped/__init__.py,line=1,title=API regression%3A scoped::scoped lost modules declared" in gh


def test_a_snapshot_that_cannot_be_used_fails_check_with_the_reason(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "xpkg/__init__.py": "",
            "importguard.lock": "# importguard snapshot 1\n[xpkg.hook-xpkg]\nname\n",
        },
    )
    proc = cli(tmp_path, "check", "xpkg")
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.startswith(
        "importguard check: the default snapshot, importguard.lock next to pyproject.toml: cannot use the snapshot "
    )
    assert "'xpkg.hook-xpkg' is not a module name" in proc.stderr
    (tmp_path / "other.lock").write_text("# importguard snapshot 1\n[xpkg]\ngone\n")
    proc = cli(tmp_path, "check", "xpkg", "--snapshot", "other.lock")
    assert proc.returncode == 1 and "xpkg lost gone (an API regression against the snapshot" in proc.stdout


def test_a_signal_while_the_walker_starts_still_kills_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C landing just as ``subprocess.Popen`` returns (before ``check`` holds the process) kills the walker.

    Seen once under load (3.13): the walker outlived a SIGINT. Here the signal is sent from inside
    the Popen call, right after the child started, so the interpreter raises KeyboardInterrupt
    before the call's result is assigned.
    """
    import subprocess as _subprocess

    from importguard._cli import walker

    write_tree(
        tmp_path,
        {"stuck/__init__.py": "import os, time\nopen('walker.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)\n"},
    )
    monkeypatch.chdir(tmp_path)
    started: list[int] = []
    real_popen = _subprocess.Popen

    def popen_then_ctrl_c(*args: Any, **kwargs: Any) -> Any:
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        os.kill(os.getpid(), signal.SIGINT)
        return proc

    monkeypatch.setattr(_subprocess, "Popen", popen_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        walker.run_walker(["stuck"], "check", sys.executable)
    (pid,) = started
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            raise AssertionError(f"walker {pid} still running after Ctrl-C during its start")
        time.sleep(0.05)
