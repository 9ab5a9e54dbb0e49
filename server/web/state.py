"""Per-application state and its getters: what every blueprint reads, like flaskr's ``get_db``."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from flask import current_app

from server.build import searchindex
from server.catalog import Catalog
from server.store.backend import Backend

#: The key of the state in ``app.extensions``.
STATE: Final = "escp4i"

T = TypeVar("T")
_MEMO: Final = "escp4i.per_release"
#: The answer cache of the query runner (``sparql.runner``).
ANSWERS: Final = "escp4i.answers"
#: The browse pages' narrowed and counted selections (``home.browse``).
BROWSED: Final = "escp4i.browsed"
#: The extensions that hold what was derived from the served release: a swap drops them.
RELEASE_DERIVED: Final = (ANSWERS, _MEMO, BROWSED)
_MEMO_LOCK: Final = threading.Lock()


@dataclass(frozen=True)
class State:
    """Per-application state, kept in ``app.extensions["escp4i"]``."""

    backend: Backend
    base_iri: str
    project_dir: Path
    catalog: Catalog


def get_state() -> State:
    """Return the state of the current application."""
    state: State = current_app.extensions[STATE]
    return state


def get_backend() -> Backend:
    """Return the backend of the current application."""
    return get_state().backend


def get_search_index() -> searchindex.SearchIndex | None:
    """Return the search index of the release being served, or None if it has none."""
    backend = get_backend()
    return searchindex.for_release(
        backend.info.content_hash,
        getattr(backend, "build_dir", None),
        Path(current_app.config["DATA_DIR"]),
    )


def get_catalog() -> Catalog:
    """Return the named-query catalog of the current application."""
    return get_state().catalog


def per_release(key: Hashable, compute: Callable[[], T]) -> T:
    """Return ``compute()``, run once per release and key in this process.

    A release never changes, so what is derived from it alone (the landing page's
    figures, the ontology's labels) is computed on first use and kept; a lock makes
    threads that ask at once wait for one computation.
    """
    state = get_state()
    memo: dict[Hashable, Any] = current_app.extensions.setdefault(_MEMO, {})
    full = (state.backend.info.release, key)
    if full not in memo:
        with _MEMO_LOCK:
            if full not in memo:
                # A big graph gives hundreds of thousands of small objects at once; the
                # cyclic collector would scan them again and again (a quarter of the time).
                gc.disable()
                try:
                    memo[full] = compute()
                finally:
                    gc.enable()
    found: T = memo[full]
    return found


def generation_name(label: str) -> str:
    """Return a generation's label as the pages name it, without the label's own name.

    Shared by the page families: the landing and browse pages and the resource pages
    name a generation alike.

    >>> generation_name("ESCP-4i second generation (2018-2019)")
    'Second generation (2018-2019)'
    >>> generation_name("Pilot round")
    'Pilot round'
    """
    name = label.removeprefix("ESCP-4i ").strip()
    return name[:1].upper() + name[1:]
