"""The query processes: answers as the engine gives them, and their priority (fast jobs at the
server's, long ones demoted, then the process replaced)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pyoxigraph as ox

from server.store import query_process, workers
from server.store.embedded import EmbeddedStore
from server.store.engine import execute
from server.store.jobs import Answer, Job
from server.store.workers import WorkerPool

#: A join of every typed resource with every other of its class, twice: seconds of work.
LONG = "SELECT (COUNT(*) AS ?n) { ?a a ?c . ?d a ?c . ?g a ?c }"
FAST = "SELECT (COUNT(*) AS ?n) { ?s a ?c }"


def _niceness(pid: int) -> dict[int, int]:
    """The niceness of each thread of a process, by thread id."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended while we looked
        found[int(task.name)] = int(fields[16])
    return found


def _count(answer: Answer) -> int:
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


def _expected(store: EmbeddedStore, text: str) -> int:
    result = store.query(text)
    assert isinstance(result, ox.QuerySolutions)
    term = next(iter(result))["n"]
    assert isinstance(term, ox.Literal)
    return int(term.value)


def test_answers_small_and_larger_than_one_read_are_the_engines_bytes(
    store: EmbeddedStore,
) -> None:
    pool = WorkerPool(store.build_dir / "store", size=1)
    try:
        for text in (FAST, "SELECT * { ?s ?p ?o } ORDER BY ?s ?p ?o"):
            job = Job(text, max_rows=1_000_000)
            answer = pool.run(job, timeout=60)
            assert answer == execute(store.store, job)
        assert len(answer.body) > workers.FIRST_READ  # the second one needed more reads
    finally:
        pool.close()


def test_fast_jobs_run_at_the_server_priority_in_one_worker(store: EmbeddedStore) -> None:
    pool = WorkerPool(store.build_dir / "store", size=1)
    try:
        expected = _expected(store, FAST)
        assert _count(pool.run(Job(FAST), timeout=30)) == expected
        (pid,) = pool.idle_pids()
        for _ in range(20):
            assert _count(pool.run(Job(FAST), timeout=30)) == expected
        assert pool.idle_pids() == [pid]
        assert set(_niceness(pid).values()) == {0}
    finally:
        pool.close()


def test_a_long_job_is_demoted_then_its_worker_is_replaced(store: EmbeddedStore) -> None:
    pool = WorkerPool(store.build_dir / "store", size=1)
    answers: list[Answer] = []
    try:
        pool.run(Job(FAST), timeout=30)
        (pid,) = pool.idle_pids()
        runner = threading.Thread(target=lambda: answers.append(pool.run(Job(LONG), timeout=120)))
        runner.start()
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        while runner.is_alive() and query_process.NICENESS not in seen:
            assert time.monotonic() < deadline
            seen |= set(_niceness(pid).values())
            time.sleep(0.02)
        assert query_process.NICENESS in seen, "the long job finished before it was demoted"
        runner.join(timeout=120)
        assert [_count(a) for a in answers] == [_expected(store, LONG)]
        # The demoted worker retired after its answer; a fresh one serves at full priority.
        assert _count(pool.run(Job(FAST), timeout=30)) == _expected(store, FAST)
        (fresh,) = pool.idle_pids()
        assert fresh != pid
        assert set(_niceness(fresh).values()) == {0}
    finally:
        pool.close()
