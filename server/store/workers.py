"""The killable query pool: long-lived processes that each open the store once."""

from __future__ import annotations

import atexit
import contextlib
import ctypes.util
import functools
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from . import query_process  # only its name: the process runs it
from .jobs import (
    Answer,
    DeadlineExceededError,
    EvaluationError,
    Job,
    NoAcceptableFormatError,
    QueryError,
    TooManyRowsError,
    WorkerCrashedError,
    write_frame,
)

log = logging.getLogger(__name__)

#: Seconds a job runs before its query process demotes it (and it stops holding a turn).
DEMOTE_AFTER: Final = query_process.DEMOTE_AFTER
#: Seconds a new worker may take to import pyoxigraph and open the store.
START_TIMEOUT: Final = 30.0
#: Bytes asked for by the first read of a reply: most answers arrive whole in it.
FIRST_READ: Final = 64 * 1024
#: A frame's prefix: the header's size, then the body's (server.store.jobs.write_frame).
_PREFIX: Final = struct.Struct(">IQ")


class WorkerPool:
    """Long-lived worker processes that each open the store once; a stuck one is killed.

    pyoxigraph can neither cancel a query nor survive some malformed ones (STACK.md), so user
    queries run here. The first query starts one worker and the rest in the background; a
    worker past its deadline is killed and replaced in the background, and a crash costs one
    process, not the server.
    """

    def __init__(
        self,
        store: Path,
        *,
        size: int = 2,
        memory_mb: int = 2048,
        concurrency: int | None = None,
        malloc: str | None = None,
    ) -> None:
        self.store = store
        self.size = size
        self.memory_mb = memory_mb
        #: The shared library the query processes preload as their allocator (``find_malloc``).
        self.malloc = malloc
        #: Jobs that may run at the server's priority at once (all ``size`` when None).
        self.concurrency = size if concurrency is None else max(1, concurrency)
        self._idle: list[_Worker] = []
        self._live = 0
        self._closed = False
        self._cond = threading.Condition()
        self._admitted: dict[int, float] = {}  # job number -> when it started
        self._jobs = 0
        self._turns = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    def idle_pids(self) -> list[int]:
        """The process ids of the workers waiting for a job."""
        with self._cond:
            return [worker.process.pid for worker in self._idle]

    def run(self, job: Job, *, timeout: float) -> Answer:
        """Answer a job within ``timeout`` seconds, the wait for a free worker included.

        :raises DeadlineExceededError: past the deadline; the worker running the query is killed.
        :raises WorkerCrashedError: when the worker dies; it is replaced in the background.
        :raises SyntaxError: and the other errors of ``execute``, as it raises them.
        """
        deadline = time.monotonic() + timeout
        turn = self._admit(deadline)
        try:
            worker = self._acquire(deadline)
            try:
                header, body = worker.ask(job, deadline)
            except BaseException:
                self._discard(worker)
                raise
        finally:
            self._leave(turn)
        if header.get("retire"):
            # It ran a long query at a lowered priority that it cannot raise again: a fresh
            # worker takes its place (query_process._Watch).
            self._discard(worker)
        else:
            self._release(worker)
        return _answer(header, body)

    def _admit(self, deadline: float) -> int:
        """Wait until fewer than ``concurrency`` admitted jobs are young; return the job's number.

        Query processes are CPU-bound: more of them running than there are cores only adds
        switching (measured at 16 clients on 2 cores: a quarter more small queries a second
        with one running per server process than with two). A job older than DEMOTE_AFTER runs
        demoted (query_process._Watch) and no longer holds its turn, so a long query never
        makes the short ones behind it wait for it.
        """
        with self._turns:
            while True:
                now = time.monotonic()
                young = [t for t in self._admitted.values() if now - t < DEMOTE_AFTER]
                if len(young) < self.concurrency:
                    break
                remaining = deadline - now
                if remaining <= 0:
                    raise DeadlineExceededError("the query waited past its deadline for a turn")
                self._turns.wait(min(remaining, min(young) + DEMOTE_AFTER - now))
            self._jobs += 1
            self._admitted[self._jobs] = now
            return self._jobs

    def _leave(self, turn: int) -> None:
        with self._turns:
            self._admitted.pop(turn, None)
            self._turns.notify()

    def close(self) -> None:
        """Stop the idle workers now and the busy ones when they finish."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerCrashedError("the query workers are shutting down")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceededError(f"all {self.size} query workers stayed busy")
                self._cond.wait(remaining)
        try:
            worker = _Worker(
                self.store,
                self.memory_mb,
                min(deadline, time.monotonic() + START_TIMEOUT),
                self.malloc,
            )
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        self._fill()
        return worker

    def _fill(self) -> None:
        """Start workers in the background until the pool is full, so no client waits for one."""
        with self._cond:
            missing = 0 if self._closed else self.size - self._live
            self._live += missing
        for _ in range(missing):
            threading.Thread(target=self._start_idle, daemon=True).start()

    def _start_idle(self) -> None:
        try:
            worker = _Worker(
                self.store, self.memory_mb, time.monotonic() + START_TIMEOUT, self.malloc
            )
        except (QueryError, OSError) as exc:
            log.warning("could not start a query worker: %s", exc)
            with self._cond:
                self._live -= 1
                self._cond.notify()
            return
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
            self._live -= 1
        worker.close()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._live -= 1
            self._cond.notify()
        self._fill()


@functools.cache
def find_malloc(setting: str) -> str | None:
    """Return the allocator library the query processes preload, or None for the system's.

    "auto" takes jemalloc where the machine has it (Debian's ``libjemalloc2``): pyoxigraph's
    queries allocate many small objects. In an A/B run against glibc's malloc (jemalloc then
    preloaded into every process of the product, not only these), the engine path answered
    about 14 % more queries a second at 1 client and 11 % more at 16. "" or
    "system" keeps glibc's; anything else is a library path, which must exist.

    >>> find_malloc("system") is None
    True
    """
    if setting in ("", "system"):
        return None
    if setting == "auto":
        return ctypes.util.find_library("jemalloc")
    if not Path(setting).is_file():
        raise ValueError(f"ESCP_QUERY_MALLOC={setting!r} is not a library file")
    return setting


_POOLS: dict[tuple[int, str, int, int, int | None, str | None], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(
    store: Path,
    *,
    size: int,
    memory_mb: int,
    concurrency: int | None = None,
    malloc: str | None = None,
) -> WorkerPool:
    """Return this process's pool for a store, made on first use; no worker starts yet.

    Apps over the same build share one pool (tests build an app per test), and every pool
    is closed at exit. The process id is part of the key, so a forked server worker never
    reuses its parent's processes.
    """
    key = (os.getpid(), str(store), size, memory_mb, concurrency, malloc)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.closed:
            if not _POOLS:
                atexit.register(close_pools)
            pool = _POOLS[key] = WorkerPool(
                store, size=size, memory_mb=memory_mb, concurrency=concurrency, malloc=malloc
            )
        return pool


def close_pool(store: Path) -> None:
    """Close this process's pools over one store (an older release, once swapped out)."""
    with _POOLS_LOCK:
        keys = [k for k in _POOLS if k[0] == os.getpid() and k[1] == str(store)]
        pools = [_POOLS.pop(k) for k in keys]
    for pool in pools:
        pool.close()


def close_pools() -> None:
    """Close every pool of this process."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


class _Worker:
    """One worker process, spoken to over its stdin and stdout in length-prefixed frames."""

    def __init__(
        self, store: Path, memory_mb: int, deadline: float, malloc: str | None = None
    ) -> None:
        command = [sys.executable, "-P", "-m", query_process.__name__, str(store), str(memory_mb)]
        env = {**os.environ, "LD_PRELOAD": malloc} if malloc else None
        self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        try:
            header, _ = self._receive(deadline)
        except BaseException:
            self.kill()
            raise
        if not header.get("ready"):
            self.kill()
            error = header.get("error")
            raise WorkerCrashedError(f"a query worker could not open the store: {error}")
        log.info("query worker %d serves %s", self.process.pid, store)

    def ask(self, job: Job, deadline: float) -> tuple[dict[str, Any], bytes]:
        assert self.process.stdin is not None  # noqa: S101  # set by Popen(stdin=PIPE)
        try:
            write_frame(self.process.stdin, *job.to_frame())
        except BrokenPipeError as exc:
            raise WorkerCrashedError(self._death()) from exc
        return self._receive(deadline)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipes()

    def close(self) -> None:
        # EOF on stdin ends the worker's loop; kill it if it is still busy.
        self._close_pipes()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()

    def _receive(self, deadline: float) -> tuple[dict[str, Any], bytes]:
        """Read one reply frame: usually one read, into one buffer, then one copy out.

        A worker writes nothing between replies, so reading ahead never takes from the next.
        """
        assert self.process.stdout is not None  # noqa: S101  # set by Popen(stdout=PIPE)
        fd = self.process.stdout.fileno()
        buffer = bytearray(FIRST_READ)
        view = memoryview(buffer)
        try:
            got = self._fill(fd, view, 0, _PREFIX.size, deadline)
            header_size, body_size = _PREFIX.unpack_from(buffer)
            total = _PREFIX.size + header_size + body_size
            if total > len(buffer):
                bigger = bytearray(total)
                bigger[:got] = view[:got]
                view.release()
                buffer, view = bigger, memoryview(bigger)
            self._fill(fd, view, got, total, deadline)
            start = _PREFIX.size + header_size
            header = json.loads(bytes(view[_PREFIX.size : start]))
            return header, bytes(view[start:total])
        finally:
            view.release()

    def _fill(self, fd: int, view: memoryview, got: int, need: int, deadline: float) -> int:
        """Read into ``view`` past ``got`` until ``need`` bytes are there; return the count."""
        while got < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                log.warning("query worker %d killed at its deadline", self.process.pid)
                raise DeadlineExceededError("the query did not finish in time")
            count = os.readv(fd, [view[got:]])
            if not count:
                raise WorkerCrashedError(self._death())
            got += count
        return got

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the query worker stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the query worker died of {signal.Signals(-code).name}"
        return f"the query worker exited with status {code}"

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _answer(header: Mapping[str, Any], body: bytes) -> Answer:
    """Turn a worker's reply back into an Answer, or into the exception it reports."""
    error = header.get("error")
    message = str(header.get("message", ""))
    if error is None:
        return Answer(header["media_type"], body, header["form"], header.get("rows"))
    if error == "syntax":
        raise SyntaxError(message)
    if error == "rows":
        raise TooManyRowsError(int(header["limit"]))
    if error == "format":
        raise NoAcceptableFormatError(str(header["form"]))
    raise EvaluationError(message)
