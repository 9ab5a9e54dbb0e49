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
#: Added to the query process's niceness (0 is the server's; 19 the lowest priority).
NICENESS: Final = 10


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


def _serve(store_path: str, memory_mb: int, channel: IO[bytes]) -> None:
    try:
        store = ox.Store.read_only(store_path)
    except OSError as exc:
        write_frame(channel, {"ready": False, "error": str(exc)})
        return
    _limit_memory(memory_mb)
    try:
        write_frame(channel, {"ready": True})
        while (request := read_frame(sys.stdin.buffer)) is not None:
            job = Job(**request)
            header, body = _reply(store, job)
            write_frame(channel, header, body)
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
    # A user's runaway query must not take the CPU from the processes that answer everyone
    # else's requests: query processes run at a lower scheduling priority.
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    # Keep the reply channel clean: anything printed goes to stderr instead.
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    threading.stack_size(STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(store_path, memory_mb, channel))
    thread.start()
    thread.join()
    with contextlib.suppress(BrokenPipeError):  # the server process may be gone already
        channel.close()


if __name__ == "__main__":
    main(sys.argv)
