"""The application factory: settings, backend, blueprints and error handlers."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from flask import Flask, current_app

from .cache import ResponseCache
from .errors import register_error_handlers
from .settings import BACKENDS, DEFAULTS
from .store import Backend, EmbeddedStore

log = logging.getLogger(__name__)

#: Paths whose answer is not a function of the release alone.
UNCACHED_PATHS: Final = frozenset({"/health"})

T = TypeVar("T")
_MEMO: Final = "escp4i.per_release"
_MEMO_LOCK: Final = threading.Lock()


@dataclass(frozen=True)
class State:
    """Per-application state, kept in ``app.extensions["escp4i"]``."""

    backend: Backend
    base_iri: str
    project_dir: Path


def create_app(config: Mapping[str, Any] | None = None, *, backend: Backend | None = None) -> Flask:
    """Create the web application.

    Settings come, in order, from DEFAULTS, ``ESCP_*`` environment variables and
    ``config``; a backend passed in wins over the configured one.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("ESCP")
    if config:
        app.config.from_mapping(config)
    _check_config(app.config)
    state = State(
        backend=backend or _backend_from_config(app.config),
        base_iri=app.config["BASE_IRI"],
        project_dir=Path(app.config["PROJECT_DIR"]),
    )
    app.extensions["escp4i"] = state

    from . import api, browse, home, pages, sparql

    app.register_blueprint(home.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(api.bp)
    # Pages last: its catch-all routes for minted IRIs must not shadow the others.
    app.register_blueprint(pages.bp)
    register_error_handlers(app)
    if app.config["RESPONSE_CACHE_MB"]:
        app.wsgi_app = ResponseCache(  # type: ignore[method-assign]  # Flask's documented hook
            app.wsgi_app,
            release=state.backend.info.release,
            max_bytes=int(app.config["RESPONSE_CACHE_MB"]) * 2**20,
            cacheable=lambda path: path not in UNCACHED_PATHS,
        )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"release": state.backend.info, "nav_links": _nav_links(app)}

    return app


def get_state() -> State:
    """Return the state of the current application."""
    state: State = current_app.extensions["escp4i"]
    return state


def get_backend() -> Backend:
    """Return the backend of the current application."""
    return get_state().backend


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


def _check_config(config: Mapping[str, Any]) -> None:
    if config["BACKEND"] not in BACKENDS:
        raise ValueError(
            f"ESCP_BACKEND={config['BACKEND']!r} is not a backend; "
            f"legal values: {', '.join(BACKENDS)}"
        )
    if config["BACKEND"] == "sparql" and not config["SPARQL_URL"]:
        raise ValueError("ESCP_BACKEND=sparql needs ESCP_SPARQL_URL, the endpoint's query URL")
    base = str(config["BASE_IRI"])
    if not base.startswith(("http://", "https://")) or not base.endswith(("/", "#")):
        raise ValueError(f"ESCP_BASE_IRI={base!r} must be an http(s) IRI ending in '/'")
    timeout = config["QUERY_TIMEOUT"]
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"ESCP_QUERY_TIMEOUT={timeout!r} must be a positive number of seconds")


def _backend_from_config(config: Mapping[str, Any]) -> Backend:
    if config["BACKEND"] == "embedded":
        return EmbeddedStore.current(Path(config["DATA_DIR"]))
    from .remote import SparqlEndpointStore

    return SparqlEndpointStore(str(config["SPARQL_URL"]), timeout=float(config["QUERY_TIMEOUT"]))


def _nav_links(app: Flask) -> list[tuple[str, str]]:
    """Return the navigation entries of the blueprints that are registered."""
    candidates = [
        ("browse.partnerships", "Partnerships"),
        ("browse.clusters", "Clusters"),
        ("browse.countries", "Countries"),
        ("sparql.endpoint", "SPARQL"),
        ("pages.dataset", "Dataset"),
        ("api.index", "API"),
    ]
    return [(endpoint, label) for endpoint, label in candidates if endpoint in app.view_functions]
