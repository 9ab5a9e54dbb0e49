"""Render the pages made from whole-release lists once, in the background, before anyone asks.

The landing, browse, map and network pages are drawn from lists computed once per release
(``state.per_release``): at 1,000 times the real data that computation took 20 s, so the
first visitor after a start or a swap waited for it, or gave up. A thread renders each of
those pages once at start and after each swap and throws the result away; a visitor who
comes sooner waits on the same computation instead of starting a second one.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

from flask import Flask

from .state import STATE

log = logging.getLogger(__name__)

#: The extension naming the release whose pages were warmed last.
WARMED: Final = "escp4i.warmed"

#: The pages rendered, each of which keeps what it computed.
PAGES: Final = (
    "/",
    "/figures",
    "/map",
    "/network",
    "/partnerships",
    "/clusters",
    "/countries",
    "/continuity-links",
)


def warm(app: Flask) -> threading.Thread | None:
    """Start rendering :data:`PAGES` in a daemon thread and return it; None when turned off
    (``WARM_PAGES``)."""
    if not app.config["WARM_PAGES"]:
        return None
    thread = threading.Thread(target=render_pages, args=(app,), name="escp4i-warm", daemon=True)
    thread.start()
    return thread


def render_pages(app: Flask) -> list[str]:
    """Render every page of :data:`PAGES` and discard it; return the paths that failed."""
    started = time.monotonic()
    release = app.extensions[STATE].backend.info.release
    failed = []
    for path in PAGES:
        with app.test_request_context(path, headers={"Accept": "text/html"}):
            try:
                app.dispatch_request()
            # A page that fails here fails for its visitors too, and is logged there as well.
            except Exception:  # noqa: BLE001
                log.warning("warming %s for release %s failed", path, release, exc_info=True)
                failed.append(path)
    # A swap during the run leaves its marking to the run it started, which may end first.
    if release == app.extensions[STATE].backend.info.release:
        app.extensions[WARMED] = release
    log.info("release %s: pages warmed in %.1f s", release, time.monotonic() - started)
    return failed


def is_warm(app: Flask) -> bool:
    """Tell whether the pages of the release served now have been warmed in this process."""
    return bool(app.extensions.get(WARMED) == app.extensions[STATE].backend.info.release)
