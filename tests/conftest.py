"""Fixtures: one store built from the real ontology/, data/ and shapes/, and apps over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.build.info import BuildInfo
from server.build.pipeline import build
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildInfo:
    """Build the real graph once per test session."""
    out = tmp_path_factory.mktemp("var")
    return build(ROOT, out, base_iri=DEFAULT_BASE_IRI, version="0.0.0-test")


@pytest.fixture(scope="session")
def store(built: BuildInfo) -> EmbeddedStore:
    """The embedded store of the session build."""
    return EmbeddedStore(Path(built.path))


@pytest.fixture()
def app(store: EmbeddedStore) -> Flask:
    return create_app({"TESTING": True, "PROJECT_DIR": str(ROOT)}, backend=store)


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the project's inputs, for tests that break them."""
    for folder in ("ontology", "data", "shapes", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    yield tmp_path
