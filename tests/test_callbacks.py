"""The hook API: callbacks on module patterns, from code, IMPORTGUARD_HOOKS and entry points."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import importguard
from conftest import hooked_env, run_python, write_tree


@pytest.fixture
def callbacks() -> Any:
    from importguard import _callbacks

    yield
    _callbacks.clear()


def test_before_after_and_error_callbacks(tmp_path: Path, fresh_modules: None, callbacks: None) -> None:
    write_tree(
        tmp_path,
        {
            "cbpkg/__init__.py": "from . import good\n",
            "cbpkg/good.py": "G = 1\n",
            "cbpkg/bad.py": "raise LookupError('bad module')\n",
            "other_cb.py": "",
        },
    )
    sys.path.insert(0, str(tmp_path))
    seen: list[tuple[str, str, Any]] = []

    @importguard.on_import("cbpkg", "cbpkg.*", when="before")
    def before(event: importguard.ImportEvent) -> None:
        seen.append(("before", event.name, event.module))

    @importguard.on_import("cbpkg.*")
    def after(event: importguard.ImportEvent) -> None:
        seen.append(("after", event.name, getattr(event.module, "G", None)))
        assert event.parent == "cbpkg" and event.duration_ns is not None and event.duration_ns >= 0

    @importguard.on_import("cbpkg.*", when="error")
    def error(event: importguard.ImportEvent) -> None:
        seen.append(("error", event.name, type(event.error).__name__))

    with importguard.capture():
        import cbpkg  # noqa: F401
        import other_cb  # noqa: F401

        with pytest.raises(LookupError, match="bad module"):
            import cbpkg.bad  # noqa: F401
    assert seen == [
        ("before", "cbpkg", None),
        ("before", "cbpkg.good", None),
        ("after", "cbpkg.good", 1),
        ("before", "cbpkg.bad", None),
        ("error", "cbpkg.bad", "LookupError"),
    ]
    assert importguard.remove_callback(after) and not importguard.remove_callback(after)


def test_a_raising_callback_never_breaks_the_import(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "myhooks.py": """
            import importguard
            calls = []
            @importguard.on_import("target*")
            def explode(event):
                calls.append(event.name)
                import json  # imports inside a callback are fine and recorded
                raise RuntimeError("callback bug " + event.name)
            def setup():
                importguard.on_import("target_b", when="before")(lambda e: calls.append("setup-" + e.name))
        """,
            "target_a.py": "A = 1\n",
            "target_b.py": "B = 2\n",
        },
    )
    env = hooked_env(
        IMPORTGUARD_HOOKS="myhooks,myhooks:setup", IMPORTGUARD_REPORT=str(tmp_path / "r.json"), PYTHONPATH=str(tmp_path)
    )
    code = "import target_a, target_b, myhooks\nprint(target_a.A + target_b.B, myhooks.calls)\n"
    proc = run_python(code, cwd=tmp_path, env=env, check=True)
    assert proc.stdout.strip() == "3 ['target_a', 'setup-target_b', 'target_b']"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines  # reported once per callback, not once per import
    assert "callback myhooks.explode" in lines[0] and "RuntimeError: callback bug target_a" in lines[0]
    report = json.loads((tmp_path / "r.json").read_text())
    errors = report["internal_errors"]
    assert [e["message"] for e in errors] == ["callback bug target_a", "callback bug target_b"]
    names = [r["name"] for r in report["imports"]]
    assert "myhooks" not in names  # loaded by importguard at startup, not by the app
    assert "json" in names


def test_hook_spec_naming_a_missing_module(tmp_path: Path) -> None:
    env = hooked_env(IMPORTGUARD_HOOKS="no_such_hooks_mod:setup")
    proc = run_python("print('still runs')", cwd=tmp_path, env=env, check=True)
    assert proc.stdout == "still runs\n"
    assert proc.stderr.count("\n") == 1
    assert "IMPORTGUARD_HOOKS entry 'no_such_hooks_mod:setup'" in proc.stderr
    assert "No module named 'no_such_hooks_mod'" in proc.stderr


def test_entry_points_only_when_asked(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "ep_hooks.py": """
            import importguard
            def setup():
                importguard.on_import("ep_target")(lambda e: print("entry point saw", e.name))
        """,
            "ep_target.py": "",
            "ep_hooks-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: ep-hooks\nVersion: 1.0\n",
            "ep_hooks-1.0.dist-info/entry_points.txt": "[importguard.hooks]\nmine = ep_hooks:setup\n",
        },
    )
    base = dict(PYTHONPATH=str(tmp_path))
    # (a module of its own: entry-point discovery itself imports json, csv, email...)
    on = run_python("import ep_target", cwd=tmp_path, env=hooked_env(IMPORTGUARD_ENTRY_POINTS="1", **base), check=True)
    assert on.stdout == "entry point saw ep_target\n"
    off = run_python(
        "import sys, ep_target; print('importlib.metadata' in sys.modules)",
        cwd=tmp_path,
        env=hooked_env(**base),
        check=True,
    )
    assert off.stdout == "False\n"


def test_wrap_patches_on_import_with_wrapt(tmp_path: Path, fresh_modules: None, callbacks: None) -> None:
    write_tree(tmp_path, {"wrapped_mod.py": "class Client:\n    def send(self, x):\n        return x * 2\n"})
    sys.path.insert(0, str(tmp_path))
    calls = []

    @importguard.wrap("wrapped_mod", "Client.send")
    def spy(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        calls.append(args)
        return wrapped(*args, **kwargs) + 1

    with importguard.capture() as got:
        import wrapped_mod
    assert [r.name for r in got] == ["wrapped_mod"]
    assert wrapped_mod.Client().send(5) == 11
    assert calls == [(5,)]


def test_bad_callback_patterns_are_rejected() -> None:
    with pytest.raises(ValueError, match="module glob"):
        importguard.on_import("bad[")
    with pytest.raises(ValueError, match="when="):
        importguard.on_import("x", when="later")
