"""The verdicts, the summary of a pre-fork server and GC time, on the real packages the issue named.

Pinned in the ``fidelity-test`` extra (CI installs it on one Python); each test
skips when its package is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env, write_tree
from test_verdicts import verdicts_in_every_format


def ig(cwd: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_django_check_reports_no_false_alarm(tmp_path: Path) -> None:
    # `manage.py check` probes org.python.core (copy, pickle), nt, _winapi, colorama,
    # pywatchman and every app's admin and templatetags modules: all optional, all caught.
    django = pytest.importorskip("django")
    assert django.get_version() == "5.2.19"
    proc = subprocess.run(
        [sys.executable, "-m", "django", "startproject", "proj", str(tmp_path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    proc = ig(tmp_path, "run", "--report", "dj.json", "--", sys.executable, "manage.py", "check")
    assert proc.returncode == 0, proc.stderr
    assert "System check identified no issues" in proc.stdout
    assert "failed imports:" not in proc.stderr
    data = json.loads((tmp_path / "dj.json").read_text())
    failures = [r for r in data["imports"] if r["status"] != "ok"]
    assert {"org", "org.python", "org.python.core", "django.contrib.admin.admin"} <= {r["name"] for r in failures}
    assert {r["verdict"] for r in failures} == {"probe"}
    seen = verdicts_in_every_format(tmp_path, tmp_path / "dj.json")
    for fmt in ("txt", "speedscope", "trace"):
        assert set(seen[fmt].values()) == {"optional, not found"}, fmt


GUNICORN_CONF = """
import os, signal, threading
bind = "127.0.0.1:0"
workers = 2
def post_worker_init(worker):
    # Once the second worker is up, end the server as an operator would (SIGTERM to the master).
    if worker.age == 2:
        threading.Timer(1.0, os.kill, (worker.ppid, signal.SIGTERM)).start()
"""


def test_run_summarises_every_process_of_a_prefork_server(tmp_path: Path) -> None:
    gunicorn = pytest.importorskip("gunicorn")
    assert gunicorn.__version__ == "23.0.0"
    write_tree(
        tmp_path,
        {
            "gconf.py": GUNICORN_CONF,
            # The app lives in the workers (no --preload): its imports happen there.
            "webapp.py": "import fractions\n\ndef app(environ, start_response):\n"
            "    start_response('200 OK', [])\n    return [b'ok']\n",
        },
    )
    exe = Path(sys.executable).with_name("gunicorn")
    proc = ig(tmp_path, "run", "--report", "all.json", "--", str(exe), "-c", "gconf.py", "webapp:app", timeout=120)
    assert proc.returncode == 0, proc.stderr
    procs = json.loads((tmp_path / "all.json").read_text())["processes"]
    assert len(procs) == 3
    master, workers = procs[0], procs[1:]
    summary = proc.stderr[proc.stderr.index("importguard: 3 processes") :]
    for p in procs:
        assert f"  pid {p['pid']}: {len(p['imports'])} imports" in summary
    # The workers' own imports are in the one picture (the master never imported the app).
    assert all("webapp" in {r["name"] for r in w["imports"]} for w in workers)
    assert "webapp" not in {r["name"] for r in master["imports"]}
    assert "inotify" not in summary.split("optional imports not found")[0]  # a probe, not a failure
    assert "failed imports:" not in summary


def test_bench_pandas_separates_garbage_collection(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    assert pandas.__version__ == "3.1.1"
    out = tmp_path / "pandas.json"
    proc = ig(
        tmp_path, "bench", "pandas", "--runs", "2", "--warmup", "0", "--gc", "exclude", "--json", str(out), timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    (target,) = data["targets"]
    for sample in target["samples"]:
        # pandas allocates enough to trigger collections during its import, every run.
        assert sample["gc_total_ns"] > 0
        own = sum(m["gc_self_ns"] for m in sample["modules"].values())
        assert own <= sample["gc_total_ns"]
        for times in sample["modules"].values():
            assert 0 <= times["gc_self_ns"] <= times["self_ns"]
    stats = target["statistics"]["modules"]
    # Ranked with the collector left out: no module's self time holds a collection.
    for name, mod in stats.items():
        selfs = sorted(
            s["modules"][name]["self_ns"] - s["modules"][name]["gc_self_ns"]
            for s in target["samples"]
            if name in s["modules"]
        )
        assert mod["self_ms"]["min"] == pytest.approx(selfs[0] / 1e6, abs=1e-4)
    assert "garbage collection left out of the times (--gc exclude)" in proc.stdout
    assert "garbage collection inside imports:" in proc.stdout
    assert os.path.getsize(out) > 0
