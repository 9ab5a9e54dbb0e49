"""Fairness under a flood: per client address, a cap on concurrent uncached queries and a
budget of query time per minute; past either, 429 with ``Retry-After``.

The accounting is per server process (no shared state between workers): with N workers a
client can hold at most N times the cap. Answers from the caches cost nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from server.errors import TooManyRequestsError
from server.web import metrics

WINDOW: Final = 60.0
#: Queries ending this close together are kept as one entry: a client's record stays a few
#: hundred entries whatever its rate, and an entry ages out at most this much late.
SLOT: Final = 0.25
#: Clients remembered at once; the least recently seen is forgotten first.
MAX_CLIENTS: Final = 10_000


@dataclass
class _Client:
    """One client's running queries and the query time it spent in the last window.

    >>> client = _Client()
    >>> client.spend(100.0, 1.0); client.spend(100.1, 2.0); client.spend(130.0, 4.0)
    >>> len(client.spent), client.used(130.0)
    (2, 7.0)
    >>> client.used(100.1 + WINDOW), client.used(130.0 + WINDOW)
    (4.0, 0.0)
    """

    running: int = 0
    spent: deque[list[float]] = field(default_factory=deque)  # [ended at, seconds]
    #: The sum of ``spent``'s seconds, kept as entries come and go: at 600 queries a second
    #: the window held 36,000 entries, and summing them took 1.7 ms on every query.
    total: float = 0.0

    def used(self, now: float) -> float:
        while self.spent and self.spent[0][0] <= now - WINDOW:
            self.total -= self.spent.popleft()[1]
        if not self.spent:
            self.total = 0.0  # no rounding drift survives an empty window
        return max(self.total, 0.0)

    def spend(self, ended: float, seconds: float) -> None:
        last = self.spent[-1] if self.spent else None
        if last is not None and ended - last[0] < SLOT:
            last[0] = ended
            last[1] += seconds
        else:
            self.spent.append([ended, seconds])
        self.total += seconds


class ClientBudgets:
    """Admit a client's query while it is under its caps; remember what each query cost.

    >>> budgets = ClientBudgets(max_concurrent=1, seconds_per_minute=60)
    >>> with budgets.admit("10.0.0.1"):
    ...     budgets.admit("10.0.0.1").__enter__()
    Traceback (most recent call last):
    ...
    server.errors.TooManyRequestsError: 1 query of this client is already running; the limit is 1
    """

    def __init__(self, *, max_concurrent: int, seconds_per_minute: float) -> None:
        self.max_concurrent = max_concurrent
        self.seconds_per_minute = seconds_per_minute
        self._clients: OrderedDict[str, _Client] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        """Run the body as one of the client's queries, or raise TooManyRequestsError."""
        with self._lock:
            state = self._client(client)
            now = time.monotonic()
            if state.running >= self.max_concurrent:
                metrics.RATE_LIMITED.labels(limit="concurrent").inc()
                raise TooManyRequestsError(
                    f"{state.running} query of this client is already running; "
                    f"the limit is {self.max_concurrent}",
                    retry_after=1,
                )
            used = state.used(now)
            if used >= self.seconds_per_minute:
                metrics.RATE_LIMITED.labels(limit="budget").inc()
                raise TooManyRequestsError(
                    f"this client used {used:.1f} s of query time in the last minute; "
                    f"the budget is {self.seconds_per_minute:g} s per minute",
                    retry_after=self._retry_after(state, now),
                )
            state.running += 1
        started = time.monotonic()
        try:
            yield
        finally:
            ended = time.monotonic()
            with self._lock:
                state.running -= 1
                state.spend(ended, ended - started)

    def _client(self, client: str) -> _Client:
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = _Client()
            while len(self._clients) > MAX_CLIENTS:
                oldest, old = next(iter(self._clients.items()))
                if old.running:
                    break
                del self._clients[oldest]
        self._clients.move_to_end(client)
        return state

    def _retry_after(self, state: _Client, now: float) -> int:
        """Seconds until enough of the window's spending has aged out."""
        excess = state.used(now) - self.seconds_per_minute
        for ended, seconds in state.spent:
            excess -= seconds
            if excess < 0:
                return max(1, math.ceil(ended + WINDOW - now))
        return int(WINDOW)
