"""A pool worker that took SIGTERM just before it slept: send it again.

importguard's SIGTERM handler (``_session._on_sigterm``) is a Python-level
handler: the C-level one only marks the signal pending, and the main thread
runs the handler at its next check. ``multiprocessing.Pool.terminate()`` (the
end of every ``with Pool() as pool:``) holds the pool's inqueue lock, SIGTERMs
its workers and joins them. A worker whose SIGTERM lands between its last
check and its ``sem_wait`` on that lock (``SemLock.acquire`` tries
``sem_trywait`` first, then sleeps) sleeps for ever with the handler pending,
and its parent joins it for ever; without importguard, SIGTERM's default
action kills it wherever it is. CPython's own test_importlib (partial/
pool_in_threads.py: 20 threads each doing ``with Pool(1): pass``) hung that
way in about 1 run in 7 on 3.13; ``with Pool(3)`` in 1.5-3% of runs under load.

A second SIGTERM ends such a wait (``sem_wait`` returns EINTR, and the
acquire loop runs the pending handler). So while a thread terminates a pool
(``Pool._terminate_pool``), its join of a worker that is still alive 1 s
after the pool's SIGTERM sends SIGTERM again, then after 2, 4, ... s (at most
every 30 s). Only there: a pool worker has no SIGTERM handler of its own unless
its initializer set one, and a worker that is still alive then is in exactly
this race. A process the program terminates itself (``Process.terminate()``
then ``join()``) is left alone: its own handler may treat a second SIGTERM
differently from the first (uvicorn stops waiting for open connections), and
the race needs a signal landing in a window of a few instructions, which a
long-lived process that is terminated when idle almost never meets (see
docs/reliability.md).

Installed by ``_session`` with the ``sigterm`` setting, as a watcher of
``multiprocessing.pool`` and ``multiprocessing.popen_fork`` (imported by the
program: importguard imports neither). Builtins only.
"""

import os
import sys
from _thread import get_ident
from time import monotonic, sleep

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Threads inside ``Pool._terminate_pool`` (their ident).
_terminating: "set[int]" = set()
#: Seconds a terminated worker may take before SIGTERM is sent again; doubles up to the maximum.
FIRST_RESEND_S = 1.0
MAX_RESEND_S = 30.0


def _wrap(real: "Any", wrapper: "Any") -> "Any":
    """Make *wrapper* look like *real* where it is shown (name, docstring, module)."""
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        try:
            setattr(wrapper, attr, getattr(real, attr))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = real
    return wrapper


def patch_pool(module: "Any") -> None:
    """Mark the threads that terminate a pool (``multiprocessing.pool`` was imported)."""
    pool = getattr(module, "Pool", None)
    method = getattr(pool, "__dict__", {}).get("_terminate_pool")
    real = getattr(method, "__func__", None)
    if real is None or getattr(real, "__wrapped__", None) is not None:
        return

    def _terminate_pool(cls: "Any", *args: "Any", **kwargs: "Any") -> "Any":
        me = get_ident()
        outer = me not in _terminating
        _terminating.add(me)
        try:
            return real(cls, *args, **kwargs)
        finally:
            if outer:
                _terminating.discard(me)

    pool._terminate_pool = classmethod(_wrap(real, _terminate_pool))  # type: ignore[union-attr]


def patch_popen(module: "Any") -> None:
    """Re-send SIGTERM from the pool's join (``multiprocessing.popen_fork`` was imported).

    ``popen_spawn_posix`` and ``popen_forkserver`` subclass this ``Popen`` and
    inherit its ``wait``.
    """
    popen = getattr(module, "Popen", None)
    real = getattr(popen, "__dict__", {}).get("wait")
    own_poll = getattr(popen, "__dict__", {}).get("poll")
    signum = getattr(sys.modules.get("_signal"), "SIGTERM", 0)
    WNOHANG = getattr(os, "WNOHANG", 1)
    if real is None or not signum or getattr(real, "__wrapped__", None) is not None:
        return

    def poll(self: "Any") -> "tuple[bool, Any]":
        """(ended, exit code) without blocking; ended with no code when the worker is
        not this process's child any more (reaped elsewhere: SIGCHLD ignored)."""
        if type(self).poll is not own_poll:  # forkserver: the status comes through the sentinel
            code = self.poll(WNOHANG)
            return code is not None, code
        try:
            pid, status = os.waitpid(self.pid, WNOHANG)
        except ChildProcessError:  # plain Popen.wait returns None then: so does this one
            return True, None
        if pid != self.pid:
            return False, None
        self.returncode = os.waitstatus_to_exitcode(status)
        return True, self.returncode

    def wait(self: "Any", timeout: "float | None" = None) -> "Any":
        if timeout is not None or self.returncode is not None or get_ident() not in _terminating:
            return real(self, timeout)
        # Polled, not through the sentinel: with pools started and ended in several
        # threads at once, the sentinel was seen ready while its worker still ran
        # (then Popen.wait blocks in waitpid and never re-sends).
        now = monotonic()
        resend_at = now + FIRST_RESEND_S
        interval = FIRST_RESEND_S
        nap = 0.001
        while True:
            ended, code = poll(self)
            if ended:
                return code
            now = monotonic()
            if now >= resend_at:
                try:
                    os.kill(self.pid, signum)
                except OSError:  # gone meanwhile: the next poll has its status
                    pass
                interval = min(interval * 2, MAX_RESEND_S)
                resend_at = now + interval
            sleep(nap)
            nap = min(nap * 2, 0.05)

    popen.wait = _wrap(real, wait)  # type: ignore[union-attr]
