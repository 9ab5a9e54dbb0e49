"""The application factory: settings, backend, catalog, blueprints and error handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from server import catalog
from server.errors import BadRequestError
from server.settings import BACKENDS, DEFAULTS
from server.store.backend import Backend
from server.store.embedded import EmbeddedStore
from server.store.workers import find_malloc

from . import metrics
from .access import AccessLog
from .cache import ResponseCache
from .compress import Compress
from .drain import DrainRefusedBodies
from .errors import register_error_handlers
from .state import STATE, State
from .swap import FollowCurrent
from .warm import warm

log = logging.getLogger(__name__)

#: Paths whose answer is not a function of the release alone.
UNCACHED_PATHS: Final = frozenset({"/health"})
SERVER_DIR: Final = Path(__file__).resolve().parents[1]
BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")


def create_app(config: Mapping[str, Any] | None = None, *, backend: Backend | None = None) -> Flask:
    """Create the web application.

    Settings come, in order, from DEFAULTS, ``ESCP_*`` environment variables and
    ``config``; a backend passed in wins over the configured one.
    """
    # Templates and static files live beside the stages, in server/.
    app = Flask(__name__, root_path=str(SERVER_DIR))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("ESCP")
    if config:
        app.config.from_mapping(config)
    _check_config(app.config)
    state = State(
        backend=backend or _backend_from_config(app.config),
        base_iri=app.config["BASE_IRI"],
        project_dir=Path(app.config["PROJECT_DIR"]),
        # A bad query file stops start-up, naming the file.
        catalog=catalog.load(Path(app.config["PROJECT_DIR"]) / "queries", app.config["BASE_IRI"]),
    )
    app.extensions[STATE] = state

    from .api import views as api
    from .home import browse, maps, network
    from .home import views as home
    from .pages import cite
    from .pages import views as pages
    from .sources import views as sources
    from .sparql import views as sparql

    app.register_blueprint(home.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(maps.bp)
    app.register_blueprint(network.bp)
    app.register_blueprint(cite.bp)
    app.register_blueprint(sparql.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(sources.bp)
    # Pages last: its catch-all routes for minted IRIs must not shadow the others.
    app.register_blueprint(pages.bp)
    register_error_handlers(app)

    @app.before_request
    def _refuse_bad_escapes() -> None:
        # A "%" left after the server decoded the path began no valid escape (%Pt, %zz, %).
        if BAD_ESCAPE.search(request.path):
            raise BadRequestError("the request path has a bad percent-encoding")

    if app.config["SPARQL_FAST_PATH"]:
        from .sparql.fastpath import SparqlFastPath

        # Where Flask is: inside the compression, the caches and the release swap.
        app.wsgi_app = SparqlFastPath(app.wsgi_app, app)  # type: ignore[method-assign]  # Flask's documented hook
    # Inside the cache: an answer is compressed once per coding, then replayed.
    app.wsgi_app = Compress(app.wsgi_app)  # type: ignore[method-assign]  # Flask's documented hook
    if app.config["RESPONSE_CACHE_MB"]:
        app.wsgi_app = ResponseCache(  # type: ignore[method-assign]  # Flask's documented hook
            app.wsgi_app,
            # Read per request: the release served changes when the state is swapped.
            release=lambda: app.extensions[STATE].backend.info.release,
            max_bytes=int(app.config["RESPONSE_CACHE_MB"]) * 2**20,
            cacheable=lambda path: path not in UNCACHED_PATHS,
            on_lookup=lambda hit: metrics.CACHE.labels(
                cache="response", result="hit" if hit else "miss"
            ).inc(),
        )
    if backend is None and app.config["BACKEND"] == "embedded" and app.config["FOLLOW_CURRENT"]:
        # Before the cache: a swapped release must not replay the old one's answers.
        app.wsgi_app = FollowCurrent(  # type: ignore[method-assign]  # Flask's documented hook
            app.wsgi_app, app, Path(app.config["DATA_DIR"])
        )
    # Outermost: a refused body is drained whoever refused it (RFC 9112 §9.6).
    app.wsgi_app = DrainRefusedBodies(  # type: ignore[method-assign]  # Flask's documented hook
        app.wsgi_app,
        max_bytes=int(app.config["DRAIN_MAX_MB"]) * 2**20,
        seconds=float(app.config["DRAIN_SECONDS"]),
    )
    # Outermost of all: every answer, replayed or not, gets its id, log line, metrics, headers.
    app.wsgi_app = AccessLog(  # type: ignore[method-assign]  # Flask's documented hook
        app.wsgi_app, release=state.backend.info.release
    )
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops:
        # Outside the access log: the log, the metrics and the per-client caps see the client.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented hook
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"release": app.extensions[STATE].backend.info, "nav_links": _nav_links(app)}

    warm(app)
    return app


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
    find_malloc(str(config["QUERY_MALLOC"]))  # a missing library stops start-up, named
    timeout = config["QUERY_TIMEOUT"]
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"ESCP_QUERY_TIMEOUT={timeout!r} must be a positive number of seconds")


def _backend_from_config(config: Mapping[str, Any]) -> Backend:
    if config["BACKEND"] == "embedded":
        return EmbeddedStore.current(Path(config["DATA_DIR"]))
    from server.store.remote import SparqlEndpointStore

    return SparqlEndpointStore(
        str(config["SPARQL_URL"]),
        timeout=float(config["QUERY_TIMEOUT"]),
        dialect=str(config["SPARQL_DIALECT"]),
    )


def _nav_links(app: Flask) -> list[tuple[str, str]]:
    """Return the navigation entries of the blueprints that are registered."""
    candidates = [
        ("browse.partnerships", "Partnerships"),
        ("browse.clusters", "Clusters"),
        ("browse.countries", "Countries"),
        ("home.figures", "Figures"),
        ("maps.page", "Maps"),
        ("network.page", "Network"),
        ("sparql.endpoint", "SPARQL"),
        ("pages.dataset", "Dataset"),
        ("api.index", "API"),
    ]
    return [(endpoint, label) for endpoint, label in candidates if endpoint in app.view_functions]
