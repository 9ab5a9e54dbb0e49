"""Serve a new release without a restart: follow ``data/current`` and swap the state in place.

``escp4i build`` points ``current`` at a new, validated build; every server process sees it
on its next request (checked at most once a second) and swaps its state: the new store, the
catalog, fresh caches keyed by the new release. No process restarts, so no connection is
dropped; requests already running finish on the old release, whose store and query
processes are closed after a grace period. A build that cannot be opened is logged and the
old release stays served.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from flask import Flask

from server import catalog
from server.build.info import current_build
from server.store.embedded import EmbeddedStore
from server.store.workers import close_pool

from . import metrics
from .state import RELEASE_DERIVED, STATE, State
from .warm import warm

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

#: Seconds the old release stays open after a swap: longer than any request may take.
GRACE: Final = 60.0


class FollowCurrent:
    """WSGI middleware: before a request, swap to the build ``current`` points at if it moved."""

    def __init__(
        self, app: WSGIApplication, flask_app: Flask, data_dir: Path, *, interval: float = 1.0
    ) -> None:
        self.app = app
        self.flask_app = flask_app
        self.data_dir = data_dir
        self.interval = interval
        self._next = 0.0
        self._failed: Path | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval
            self.check()
        return self.app(environ, start_response)

    def check(self) -> bool:
        """Swap if ``current`` names another build than the one served; True if swapped."""
        target = current_build(self.data_dir)
        state: State = self.flask_app.extensions[STATE]
        served = getattr(state.backend, "build_dir", None)
        if target is None or target == served or target == self._failed:
            return False
        with self._lock:
            state = self.flask_app.extensions[STATE]
            if target == getattr(state.backend, "build_dir", None):
                return False
            try:
                backend = EmbeddedStore(target)
                queries = catalog.load(state.project_dir / "queries", state.base_iri)
            except (OSError, ValueError, catalog.CatalogError) as exc:
                self._failed = target
                log.error("could not swap to %s; still serving the old release: %s", target, exc)
                return False
            self.flask_app.extensions[STATE] = dataclasses.replace(
                state, backend=backend, catalog=queries
            )
            # Answers of the old release are never asked for again: free them.
            for name in RELEASE_DERIVED:
                self.flask_app.extensions.pop(name, None)
        metrics.RELEASE.labels(release=state.backend.info.release).set(0)
        metrics.RELEASE.labels(release=backend.info.release).set(1)
        log.info(
            "now serving release %s (was %s)", backend.info.release, state.backend.info.release
        )
        warm(self.flask_app)
        timer = threading.Timer(GRACE, _retire, args=(state,))
        timer.daemon = True
        timer.start()
        return True


def _retire(state: State) -> None:
    """Close an old release once the requests that started on it are long finished."""
    backend = state.backend
    if isinstance(backend, EmbeddedStore):
        close_pool(backend.build_dir / "store")
        backend.close()
        log.info("closed release %s", backend.info.release)
