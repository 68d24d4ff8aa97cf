"""A process ended by SIGTERM with the default disposition: how production processes end.

Kubernetes, systemd and supervisors send SIGTERM; uvicorn re-raises it after its
graceful shutdown; ``multiprocessing.Pool.terminate()`` (the end of ``with
Pool() as p:``) sends it to every worker. Without a handler no atexit runs,
so before importguard caught it no report was written, and nothing was said.
Plain and hooked must still die the same way (killed by SIGTERM), and the
program must see SIG_DFL as its handler whatever it does with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from rel_helpers import Run, _env, names, plain_and_hooked, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _reports(directory: Path, stem: str = "report") -> dict[int, dict[str, Any]]:
    out = {}
    for path in directory.glob(f"{stem}*.json"):
        data = json.loads(path.read_text())
        out[data["pid"]] = data
    return out


def test_sigterm_with_the_default_disposition_writes_the_report(tmp_path: Path) -> None:
    code = (
        "import json, os, signal\nprint('before', flush=True)\nos.kill(os.getpid(), signal.SIGTERM)\nprint('after')\n"
    )
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.returncode == -signal.SIGTERM
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert "json" in names(hooked.report)
    assert hooked.report is not None and hooked.report["internal_errors"] == []


def test_sigterm_exit_status_in_a_shell_is_143(tmp_path: Path) -> None:
    code = "import json, os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    cmd = ["sh", "-c", f'"{sys.executable}" -c "{code}"; echo "rc=$?"']
    out = {}
    for hooked in (False, True):
        out[hooked] = subprocess.run(
            cmd,
            cwd=tmp_path,
            env=_env(hooked, tmp_path / "report.json", {}),
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    assert out[False] == out[True] == "rc=143\n"
    assert "json" in names(json.loads((tmp_path / "report.json").read_text()))


HANDLERS = """
    import os, signal, sys
    def h(signum, frame):
        print('handler ran', flush=True)
    print('getsignal', signal.getsignal(signal.SIGTERM))
    print('set h returns', signal.signal(signal.SIGTERM, h))
    print('getsignal', signal.getsignal(signal.SIGTERM) is h)
    os.kill(os.getpid(), signal.SIGTERM)
    print('restore returns', signal.signal(signal.SIGTERM, signal.SIG_DFL) is h)
    print('getsignal', signal.getsignal(signal.SIGTERM))
    print('ignore returns', signal.signal(signal.SIGTERM, signal.SIG_IGN))
    print('default returns', signal.signal(signal.SIGTERM, signal.SIG_DFL))
    import _signal
    print('_signal', _signal.getsignal(signal.SIGTERM), _signal.signal.__name__, _signal.getsignal.__name__)
    print('doc', signal.signal.__doc__ == _signal.signal.__doc__ is not None)
    import json
    sys.stdout.flush()
    # What uvicorn does after its graceful shutdown: put the original handler back, raise the signal.
    original = signal.signal(signal.SIGTERM, h)
    signal.signal(signal.SIGTERM, original)
    signal.raise_signal(signal.SIGTERM)
    print('not reached')
"""


def test_the_program_sees_sig_dfl_and_a_restored_default_still_reports(tmp_path: Path) -> None:
    plain, hooked = plain_and_hooked(HANDLERS, tmp_path)
    assert plain.returncode == -signal.SIGTERM
    assert "handler ran" in plain.stdout and "restore returns True" in plain.stdout
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert "json" in names(hooked.report)


def test_a_program_that_handles_sigterm_itself_is_left_alone(tmp_path: Path) -> None:
    code = """
        import os, signal, sys
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))
        import json
        os.kill(os.getpid(), signal.SIGTERM)
    """
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.returncode == 7
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert "json" in names(hooked.report)


def test_an_inherited_ignored_sigterm_stays_ignored(tmp_path: Path) -> None:
    code = "import os, signal\nprint(signal.getsignal(signal.SIGTERM))\nos.kill(os.getpid(), signal.SIGTERM)\nprint('alive')\n"
    # Run with SIGTERM ignored by the parent (nohup does that): exec keeps SIG_IGN.
    out = {}
    for h in (False, True):
        out[h] = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=_env(h, tmp_path / "report.json", {}),
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
        )
    assert out[False].returncode == out[True].returncode == 0
    assert out[False].stdout == out[True].stdout
    assert out[True].stdout.split() in (["1", "alive"], ["Handlers.SIG_IGN", "alive"])


def test_sigterm_from_an_atexit_handler(tmp_path: Path) -> None:
    code = """
        import atexit, os, signal
        import json
        atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))
    """
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.returncode == -signal.SIGTERM
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert "json" in names(hooked.report)


POOL_APP = {
    "pool_work.py": """
        import os
        def work(i):
            import pool_dep
            return os.getpid()
    """,
    "pool_dep.py": "import json\n",
}


def _descendants(pid: int) -> list[int]:
    """*pid*'s descendants, parents before children (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        out.append(child)
        todo += children.get(child, [])
    return out


def _process_state(pid: int) -> dict[str, Any]:
    """Where *pid* waits, and whether SIGTERM is caught, blocked or pending there (from /proc):
    ``line`` (one line to print), ``main`` (its main thread's state letter), ``sigterm`` (flags)."""
    proc = Path(f"/proc/{pid}")
    try:
        status = dict(line.split(":\t", 1) for line in (proc / "status").read_text().splitlines() if ":\t" in line)
        main = dict(
            line.split(":\t", 1)
            for line in (proc / "task" / str(pid) / "status").read_text().splitlines()
            if ":\t" in line
        )
        cmdline = " ".join((proc / "cmdline").read_bytes().decode(errors="replace").split())[:120]
        wchan = (proc / "wchan").read_text() if (proc / "wchan").exists() else "?"
    except OSError as exc:
        return {"line": f"{pid}: gone ({exc})", "main": "?", "sigterm": set()}
    bit = 1 << (signal.SIGTERM - 1)
    # SigPnd is the thread's own pending set, ShdPnd the process's: pending in either is pending.
    flags = {
        name
        for name, table, key in (
            ("caught", status, "SigCgt"),
            ("blocked", main, "SigBlk"),
            ("pending", status, "ShdPnd"),
            ("pending", main, "SigPnd"),
        )
        if int(table.get(key, "0"), 16) & bit
    }
    state = main.get("State", "?").strip()
    return {
        "line": f"{pid} main thread {state} wchan={wchan} SIGTERM {'/'.join(sorted(flags)) or 'default'}: {cmdline}",
        "main": state[:1],
        "sigterm": flags,
    }


def _dump_stacks(pids: list[int], chunks: list[bytes]) -> dict[int, str]:
    """Each process's Python stacks: SIGABRT to one at a time (faulthandler writes its
    threads' stacks to the stderr they share), what it wrote read before the next one."""
    stacks: dict[int, str] = {}
    for pid in pids:
        before = len(b"".join(chunks))
        try:
            os.kill(pid, signal.SIGABRT)
        except OSError:
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                    break
            except OSError:
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the reader thread takes what the process wrote before it died
        stacks[pid] = b"".join(chunks)[before:].decode(errors="replace")
    return stacks


def _run_or_dump(
    code: str, cwd: Path, hooked: bool, what: str, timeout: float = 120, extra: dict[str, str] | None = None
) -> Run:
    """Run *code* as :func:`rel_helpers.run` does; if it has not ended after *timeout* s,
    fail with the state and the Python stacks of the program and of each of its processes
    (faulthandler, on SIGABRT), so that a rare hang says where each process waits."""
    report = cwd / "report.json"
    if hooked and report.is_file():
        report.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=_env(hooked, report, {"PYTHONFAULTHANDLER": "1", **(extra or {})}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    chunks: list[bytes] = []
    out: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(
            target=lambda f=f, into=into: into.extend(iter(lambda: os.read(f.fileno(), 65536), b"")), daemon=True
        )
        for f, into in ((proc.stderr, chunks), (proc.stdout, out))
    ]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pids = [proc.pid, *_descendants(proc.pid)]
        facts = {pid: _process_state(pid) for pid in pids}
        # The parent first, while it still waits (once its workers die it would go on).
        stacks = _dump_stacks(pids, chunks)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()
        for reader in readers:
            reader.join(5)
        states = "\n".join(fact["line"] for fact in facts.values())
        dumps = "\n".join(f"--- {pid}:\n{stacks.get(pid, '(no stack)')}" for pid in pids)
        diagnostics = (
            f"{what}: the {'hooked' if hooked else 'plain'} run did not finish in {timeout} s."
            f"\nProcesses (pid, main thread's state, where it waits, SIGTERM):\n{states}\n"
            f"stdout:\n{b''.join(out).decode(errors='replace')}\nPython stacks (faulthandler, SIGABRT):\n{dumps}"
        )
        raise AssertionError(diagnostics) from None
    for reader in readers:
        reader.join(10)
    data = json.loads(report.read_text()) if hooked and report.is_file() else None
    return Run(proc.returncode, b"".join(out).decode(), b"".join(chunks).decode(), data)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_pool_terminate_every_worker_reports(tmp_path: Path, method: str) -> None:
    write_tree(tmp_path, POOL_APP)
    code = f"""
        import multiprocessing, os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import pool_work
        if __name__ == "__main__":
            ctx = multiprocessing.get_context({method!r})
            with ctx.Pool(3) as pool:
                workers = [p.pid for p in pool._pool]
                used = set(pool.map(pool_work.work, range(12), chunksize=1))
            print(' '.join(map(str, sorted(workers))))
            print(' '.join(map(str, sorted(used))))
    """
    for attempt in range(3):  # the loss was random: 0 to 3 of 3 per run
        for old in tmp_path.glob("report*.json"):
            old.unlink()
        plain = _run_or_dump(code, tmp_path, False, f"attempt {attempt}")
        hooked = _run_or_dump(code, tmp_path, True, f"attempt {attempt}")
        assert plain.returncode == hooked.returncode == 0, hooked.stderr
        assert plain.stderr == hooked.stderr == ""
        # Every worker that ran a task (a spawn worker terminated while the interpreter
        # is still starting, before site has run the .pth, has no hook and no records).
        workers = [int(pid) for pid in hooked.stdout.splitlines()[1].split()]
        reports = _reports(tmp_path)
        missing = [pid for pid in workers if pid not in reports]
        assert not missing, f"attempt {attempt}: no report from workers {missing} of {workers}"
        for pid in workers:
            assert reports[pid]["internal_errors"] == []
            assert "pool_dep" in [r["name"] for r in reports[pid]["imports"]]


MAIN_THREAD_WAITING = """
    import signal, threading, time
    # The main thread blocks SIGTERM, so the signal is taken by another thread while
    # the main thread waits on a lock: the wait is not interrupted by it.
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    import json
    lock = threading.Lock()
    lock.acquire()
    print("waiting", flush=True)
    lock.acquire()
"""


def _wait_until_sleeping(pid: int) -> None:
    """Until *pid*'s main thread sleeps in the kernel (its lock wait), at most 30 s."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat")
    deadline = time.monotonic() + 30
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "S" and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.xfail(
    strict=True,
    reason=(
        "Known, not fixed: a Python-level handler runs only in the main thread, between bytecodes. "
        "A SIGTERM the C-level handler takes while the main thread is already in a wait that no "
        "signal interrupts (taken by another thread, as here, because the main thread blocks it) "
        "is never acted on: plain dies, hooked waits for ever. The same state reached by a pool "
        "worker through the race before sem_wait is ended by the SIGTERM importguard sends again "
        "from Pool.terminate (test_a_pool_worker_that_missed_sigterm_gets_it_again_and_reports); "
        "for any other process, fixing it needs something that runs outside the main thread. "
        "IMPORTGUARD_SIGTERM=0 avoids it, at the cost of the report."
    ),
)
def test_sigterm_while_the_main_thread_waits_on_a_lock_ends_the_process(tmp_path: Path) -> None:
    # Deterministic form of the Pool.terminate hang: the signal is caught and marked
    # pending (tripped) while the main thread cannot run the Python handler.
    outcome = {hooked: _sigterm_while_waiting(tmp_path, hooked, {}) for hooked in (False, True)}
    assert outcome == {False: -signal.SIGTERM, True: -signal.SIGTERM}
    assert "json" in names(json.loads((tmp_path / "report.json").read_text()))


def _sigterm_while_waiting(tmp_path: Path, hooked: bool, extra: dict[str, str]) -> int | str:
    """MAIN_THREAD_WAITING's exit status once SIGTERMed, or a string saying it did not end."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(MAIN_THREAD_WAITING)],
        cwd=tmp_path,
        env=_env(hooked, tmp_path / "report.json", extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "waiting\n"
        _wait_until_sleeping(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            return "still running 20 s after SIGTERM"
    finally:
        proc.kill()
        proc.communicate()


# -- IMPORTGUARD_SIGTERM=0: SIGTERM keeps SIG_DFL ---------------------------------------------

OFF = {"IMPORTGUARD_SIGTERM": "0"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_off_a_sigterm_the_main_thread_cannot_handle_ends_the_process_as_plain(tmp_path: Path) -> None:
    outcome = {hooked: _sigterm_while_waiting(tmp_path, hooked, OFF if hooked else {}) for hooked in (False, True)}
    assert outcome == {False: -signal.SIGTERM, True: -signal.SIGTERM}
    assert not (tmp_path / "report.json").exists()  # the trade-off: no report from an end by SIGTERM


def test_sigterm_off_the_disposition_and_exit_status_are_plain(tmp_path: Path) -> None:
    code = """
        import os, signal, _signal
        print(signal.getsignal(signal.SIGTERM), _signal.getsignal(signal.SIGTERM), flush=True)
        import json
        os.kill(os.getpid(), signal.SIGTERM)
        print('after')
    """
    plain, hooked = plain_and_hooked(code, tmp_path, **OFF)
    assert plain.returncode == -signal.SIGTERM and plain.stdout.split()[-1] == str(int(signal.SIG_DFL))
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert hooked.report is None
    # and the program's own handler and restores behave as plain (nothing is wrapped)
    plain, hooked = plain_and_hooked(HANDLERS, tmp_path, **OFF)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert hooked.report is None


def test_sigterm_off_a_normal_exit_still_reports(tmp_path: Path) -> None:
    _, hooked = plain_and_hooked("import json\n", tmp_path, **OFF)
    assert hooked.returncode == 0 and "json" in names(hooked.report)


def test_sigterm_off_by_install_puts_sig_dfl_back(tmp_path: Path) -> None:
    code = """
        import os, signal, _signal, importguard
        print(_signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, flush=True)  # ours, shown as SIG_DFL
        importguard.install(sigterm=False)
        print(_signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, flush=True)
        # a program restoring SIG_DFL gets SIG_DFL, not importguard's handler back
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print(signal.Handlers(_signal.getsignal(signal.SIGTERM)).name, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
    """
    hooked = run(code, tmp_path, hooked=True)
    assert (hooked.returncode, hooked.stdout) == (-signal.SIGTERM, "True\nTrue\nSIG_DFL\n")
    assert hooked.report is None  # SIG_DFL for real: no handler wrote it


# -- A pool worker that took SIGTERM just before it slept (importguard/_pool_sigterm.py) ------------

POOL_HANG = """
    import multiprocessing, signal, sys, threading, time
    sys.path.insert(0, {path!r})

    def init(held):
        global lock
        lock = held
        import pool_dep  # the worker's own import, in its report
        {init}

    def task():
        with lock:  # held by the parent: the worker's main thread sleeps in sem_wait
            pass

    if __name__ == "__main__":
        ctx = multiprocessing.get_context("fork")
        held = ctx.Lock()
        held.acquire()
        with ctx.Pool(2, initializer=init, initargs=(held,)) as pool:
            pool.apply_async(task)
            time.sleep(1)
        print("done")
"""
# The race's outcome, made certain: the pool's SIGTERM reaches the worker, whose main
# thread then goes back to sleep on the lock the parent holds without running
# importguard's handler (here a handler of the worker's own takes the first one and
# puts the default disposition back, which hooked is importguard's handler; in the
# race the C-level handler takes it in the instructions before sem_wait). Plain, such
# a worker would wait for ever too: only importguard's re-sent SIGTERM ends it.
MISSED_FIRST_INIT = "signal.signal(signal.SIGTERM, lambda *a: signal.signal(signal.SIGTERM, signal.SIG_DFL))"
# A worker that ignores SIGTERM: plain or hooked, the parent joins it for ever.
IGNORING_INIT = "signal.signal(signal.SIGTERM, signal.SIG_IGN)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_pool_worker_that_missed_sigterm_gets_it_again_and_reports(tmp_path: Path) -> None:
    write_tree(tmp_path, POOL_APP)
    code = POOL_HANG.format(path=str(tmp_path), init=MISSED_FIRST_INIT)
    hooked = _run_or_dump(code, tmp_path, True, "missed SIGTERM", timeout=60)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (0, "done\n", "")
    assert hooked.report is not None
    workers = {pid: data for pid, data in _reports(tmp_path).items() if pid != hooked.report["pid"]}
    assert len(workers) == 2  # both ended by the pool's SIGTERM, one of them sent again
    for data in workers.values():
        assert data["internal_errors"] == [] and "pool_dep" in names(data)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_pool_hang_is_reported_with_every_process_stack(tmp_path: Path) -> None:
    write_tree(tmp_path, POOL_APP)
    code = POOL_HANG.format(path=str(tmp_path), init=IGNORING_INIT)
    with pytest.raises(AssertionError, match="did not finish") as failure:
        _run_or_dump(code, tmp_path, True, "ignoring", timeout=10)
    assert "_terminate_pool" in str(failure.value)  # the parent's stack, taken while it waited


def test_a_pool_whose_workers_are_reaped_elsewhere_ends_as_plain(tmp_path: Path) -> None:
    # SIGCHLD ignored: the kernel reaps the workers, waitpid says ECHILD and plain's join
    # returns. The re-sending join must too (it once polled for ever, re-sending SIGTERM).
    code = """
        import multiprocessing, signal, time
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        if __name__ == "__main__":
            with multiprocessing.get_context("fork").Pool(2) as pool:
                time.sleep(0.5)
            print("done")
    """
    for hooked in (False, True):
        result = _run_or_dump(code, tmp_path, hooked, "SIGCHLD ignored", timeout=60)
        assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")


# CPython's test_importlib/partial/pool_in_threads.py: twenty threads, each with a
# Pool(1) it ends at once. Before importguard re-sent SIGTERM, about 1 run in 7 hung
# on 3.13 (the race above, for real).
POOL_IN_THREADS = """
    import multiprocessing, threading
    def t():
        with multiprocessing.Pool(1):
            pass
    if __name__ == "__main__":
        threads = [threading.Thread(target=t) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("done")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pools_in_threads_end(tmp_path: Path) -> None:
    for attempt in range(5):
        hooked = _run_or_dump(POOL_IN_THREADS, tmp_path, True, f"attempt {attempt}", timeout=120)
        assert (hooked.returncode, hooked.stdout) == (0, "done\n"), hooked.stderr


ASGI_APP = """
    import json

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    import decimal
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
"""


def _uvicorn(tmp_path: Path, hooked: bool, *extra: str) -> tuple[int, str]:
    """Start uvicorn on the app, wait until it serves, SIGTERM it; (exit status, stderr)."""
    write_tree(tmp_path, {"asgi_app.py": ASGI_APP})
    env = _env(hooked, tmp_path / "report.json", {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgi_app:app", "--port", "0", "--lifespan", "on", *extra],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = ""
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while "Application startup complete" not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
    assert "Application startup complete" in seen, seen
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    return proc.returncode, seen + rest


def test_uvicorn_reraising_sigterm_writes_the_report(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    plain_rc, _ = _uvicorn(tmp_path, False)
    rc, stderr = _uvicorn(tmp_path, True)
    assert plain_rc == rc == -signal.SIGTERM, stderr
    assert "importguard" not in stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert {"uvicorn", "asgi_app", "decimal"} <= set(names(report))


def test_uvicorn_reload_app_process_reports(tmp_path: Path) -> None:
    # Under --reload the app runs in a spawned child that the reloader stops with SIGTERM.
    pytest.importorskip("uvicorn")
    rc, stderr = _uvicorn(tmp_path, True, "--reload", "--reload-dir", str(tmp_path))
    assert rc in (0, -signal.SIGTERM), stderr
    reports = _reports(tmp_path)
    app = [r for r in reports.values() if "asgi_app" in names(r)]
    assert len(app) == 1, sorted(reports)
    assert "decimal" in names(app[0])
    assert app[0]["internal_errors"] == []


SPANS = """
    import os, signal, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class ToFile(SpanExporter):
        def export(self, spans):
            with open("spans.txt", "a") as f:
                f.writelines(s.name + "\\n" for s in spans)
            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ToFile(), schedule_delay_millis=60_000))
    trace.set_tracer_provider(provider)
    import decimal
    {end}
"""


@pytest.mark.parametrize("end", ["os.kill(os.getpid(), signal.SIGTERM)", "os.execv('/bin/true', ['true'])"])
def test_pending_spans_reach_the_exporter(tmp_path: Path, end: str) -> None:
    # The batch processor holds the spans for a minute: only an explicit flush exports them.
    hooked = run(SPANS.replace("{end}", end), tmp_path, hooked=True)
    assert hooked.returncode == (-signal.SIGTERM if "kill" in end else 0), hooked.stderr
    assert "decimal" in names(hooked.report)
    spans = (tmp_path / "spans.txt").read_text().splitlines()
    assert spans.count("import decimal") == 1 and "python startup" in spans
