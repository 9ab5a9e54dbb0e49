"""A store wrapper that counts the queries reaching it, for tests of what is kept."""

from __future__ import annotations

from typing import Any

from server.store.embedded import EmbeddedStore


class CountingStore:
    """The real store, counting the queries that reach it."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def query(self, text: str, **kwargs: Any) -> Any:
        self.queries += 1
        return self.store.query(text, **kwargs)
