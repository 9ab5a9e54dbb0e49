"""Fixtures for the engine tests: the remote backend over Virtuoso and over Comunica.

Each engine is started once per session, loaded with the session build, and stopped by
PID. The tests reuse the remote backend's own tests (tests/store/test_remote.py and the
protocol, API and page tests in tests/web/), run against each engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from reuse import DIFFERS, ENGINES, ROOT, TOO_SLOW, VARIES, Engine, start_engine

from server.build.info import BuildInfo
from server.settings import DEFAULTS
from server.store.embedded import EmbeddedStore
from server.web.factory import create_app


@pytest.fixture(scope="session", params=ENGINES)
def engine(
    request: pytest.FixtureRequest,
    store: EmbeddedStore,
    built: BuildInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Engine]:
    """Each engine in turn, loaded with the session build."""
    name: str = request.param
    started = start_engine(name, store, built, tmp_path_factory.mktemp(name))
    with started.server:
        yield started


@pytest.fixture()
def make_engine_client(engine: Engine) -> Callable[..., FlaskClient]:
    """Return a factory of test clients of the app over the engine, with settings on top."""

    def make(**config: Any) -> FlaskClient:
        settings = {"TESTING": True, "PROJECT_DIR": str(ROOT), **config}
        settings |= {"BACKEND": "sparql", "SPARQL_URL": engine.query_url}
        if engine.dialect == "auto":
            return create_app(settings).test_client()
        timeout = float(settings.get("QUERY_TIMEOUT", DEFAULTS["QUERY_TIMEOUT"]))
        return create_app(settings, backend=engine.backend(timeout)).test_client()

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each engine's known differences; leave out what is too slow on it."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = getattr(item, "originalname", item.name)
        engine = callspec.params.get("engine") if callspec else None
        if not isinstance(engine, str) or "tests/engines/" not in item.nodeid:
            kept.append(item)
            continue
        if name in TOO_SLOW.get(engine, {}):
            dropped.append(item)
            continue
        differs = DIFFERS.get(engine, {})
        bare = callspec.id.replace(f"{engine}-", "", 1).replace(f"-{engine}", "", 1)
        reason = differs.get(name) or differs.get(f"{name}[{bare}]")
        if reason:
            item.add_marker(pytest.mark.xfail(reason=f"{engine}: {reason}", strict=True))
        varies = VARIES.get(engine, {}).get(f"{name}[{bare}]")
        if varies:
            item.add_marker(pytest.mark.xfail(reason=f"{engine}, some runs: {varies}"))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
