"""The query process's own main: serve jobs from stdin on a read-only store until stdin closes.

Run as ``python -P -m server.store.query_process STORE MB``; it imports only the standard
library, pyoxigraph and this package's light modules (``jobs``, ``screen``, ``engine``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

import pyoxigraph as ox

from .engine import execute
from .jobs import (
    EvaluationError,
    Job,
    NoAcceptableFormatError,
    TooManyRowsError,
    read_frame,
    write_frame,
)

#: A thread stack this large lifts pyoxigraph's crash depth from ~3,000 nested groups to over
#: 30,000 (measured); it is address space, committed only when used.
STACK_BYTES: Final = 256 * 1024 * 1024
#: The niceness of a query that runs long (0 is the server's; 19 the lowest priority).
NICENESS: Final = 10
#: Seconds a job runs at the server's priority before its thread is demoted to NICENESS.
DEMOTE_AFTER: Final = 0.25
#: How often the watch looks at the running job, in seconds.
WATCH_EVERY: Final = 0.1


def _reply(store: ox.Store, job: Job) -> tuple[dict[str, Any], bytes]:
    """Answer one job inside a worker, reporting expected failures in the header."""
    try:
        answer = execute(store, job)
    except SyntaxError as exc:
        return {"error": "syntax", "message": str(exc)}, b""
    except TooManyRowsError as exc:
        return {"error": "rows", "limit": exc.limit}, b""
    except NoAcceptableFormatError as exc:
        return {"error": "format", "form": exc.form}, b""
    except EvaluationError as exc:
        return {"error": "evaluation", "message": str(exc)}, b""
    header = {"media_type": answer.media_type, "form": answer.form, "rows": answer.rows}
    return header, answer.body


class _Watch:
    """Demote the thread running a job to NICENESS once the job has run DEMOTE_AFTER seconds.

    A user's runaway query must not take the CPU from the processes that answer everyone
    else's requests, but a query of a few milliseconds should not wait behind them either:
    measured on a busy 2-core machine, a whole process at niceness 10 took three times its
    CPU time in wall time. Linux sets niceness per thread and an unprivileged thread cannot
    raise its priority again, so a process whose thread was demoted retires after its answer
    (the pool starts a fresh one).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread = 0
        self._started: float | None = None
        self.demoted = False

    def begin(self) -> None:
        with self._lock:
            self._thread = threading.get_native_id()
            self._started = time.monotonic()

    def end(self) -> bool:
        """Mark the job done; True if its thread was demoted."""
        with self._lock:
            self._started = None
            return self.demoted

    def run(self) -> None:
        """Look at the running job every WATCH_EVERY seconds, for the life of the process."""
        while True:
            time.sleep(WATCH_EVERY)
            with self._lock:
                started = self._started
                if self.demoted or started is None or time.monotonic() - started < DEMOTE_AFTER:
                    continue
                self.demoted = True
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, self._thread, NICENESS)


def _serve(store_path: str, memory_mb: int, channel: IO[bytes], watch: _Watch) -> None:
    try:
        store = ox.Store.read_only(store_path)
    except OSError as exc:
        write_frame(channel, {"ready": False, "error": str(exc)})
        return
    _limit_memory(memory_mb)
    try:
        write_frame(channel, {"ready": True})
        while (request := read_frame(sys.stdin.buffer)) is not None:
            watch.begin()
            header, body = _reply(store, Job.from_frame(*request))
            retire = watch.end()
            if retire:
                header["retire"] = True
            write_frame(channel, header, body)
            if retire:
                return
    except BrokenPipeError:
        return  # the server process is gone (stopped mid-request): nobody to answer


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the worker uses now plus ``memory_mb``.

    Past the cap, pyoxigraph's allocator aborts the process: the pool reports a crash.
    """
    try:
        import resource

        status = Path("/proc/self/status").read_text(encoding="ascii")
    except (ImportError, OSError):
        return  # not Linux: no cap
    match = re.search(r"VmSize:\s+(\d+) kB", status)
    if match:
        limit = (int(match.group(1)) * 1024) + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: Sequence[str]) -> None:
    """Serve jobs on stdin until it closes: the worker process's entry point."""
    store_path, memory_mb = argv[1], int(argv[2])
    # The pool stops workers; a Ctrl-C meant for the server must not print tracebacks here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the reply channel clean: anything printed goes to stderr instead.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # The watch gets an ordinary stack; the query thread the large one.
    watch = _Watch()
    threading.Thread(target=watch.run, daemon=True).start()
    threading.stack_size(STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(store_path, memory_mb, channel, watch))
    thread.start()
    thread.join()
    with contextlib.suppress(BrokenPipeError):  # the server process may be gone already
        channel.close()


if __name__ == "__main__":
    main(sys.argv)
