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
#: Clients remembered at once; the least recently seen is forgotten first.
MAX_CLIENTS: Final = 10_000


@dataclass
class _Client:
    running: int = 0
    spent: deque[tuple[float, float]] = field(default_factory=deque)  # (ended at, seconds)

    def used(self, now: float) -> float:
        while self.spent and self.spent[0][0] <= now - WINDOW:
            self.spent.popleft()
        return sum(seconds for _, seconds in self.spent)


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
                state.spent.append((ended, ended - started))

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
