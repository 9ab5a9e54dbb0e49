"""Clients on keep-alive connections, cycling through requests until stopped or bounded."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

#: A request to cycle through: path and headers.
Request = tuple[str, dict[str, str]]
#: Called under the load's lock with each answer: path, status, body.
OnReply = Callable[[str, int, bytes], None]


class Load:
    """``clients`` threads, each sending at most ``per_client`` requests (and, given
    ``seconds``, for at most that long); counts statuses and records transport failures."""

    def __init__(
        self,
        url: str,
        requests: Sequence[Request],
        *,
        clients: int,
        per_client: int,
        seconds: float | None = None,
        on_reply: OnReply | None = None,
        join_seconds: float = 30,
    ) -> None:
        parts = urlsplit(url)
        self.host, self.port = str(parts.hostname), int(parts.port or 80)
        self.requests, self.per_client, self.on_reply = requests, per_client, on_reply
        self.join_seconds = join_seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []
        self.deadline = time.monotonic() + seconds if seconds is not None else None
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def answered(self) -> int:
        """Return how many answers came so far."""
        with self.lock:
            return sum(self.statuses.values())

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=self.join_seconds)

    def _client(self, offset: int) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            for n in range(self.per_client):
                if self.stop.is_set() or (self.deadline and time.monotonic() > self.deadline):
                    return
                path, headers = self.requests[(n + offset) % len(self.requests)]
                try:
                    connection.request("GET", path, headers=headers)
                    reply = connection.getresponse()
                    body = reply.read()
                except (OSError, http.client.HTTPException) as exc:
                    with self.lock:
                        self.failures.append(f"{path}: {type(exc).__name__}: {exc}")
                    connection.close()
                    connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
                    continue
                with self.lock:
                    self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
                    if self.on_reply is not None:
                        self.on_reply(path, reply.status, body)
        finally:
            connection.close()
