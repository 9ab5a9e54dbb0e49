"""Fixtures: one store built from the real ontology/, data/ and shapes/, and apps over it."""

from __future__ import annotations

import os
import shutil
import tempfile
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
_OWN_DATA_DIR = "escp4i-tests-data-"


def pytest_configure(config: pytest.Config) -> None:
    """Point every app a test makes without a data folder at an empty one, not at ``var/``;
    turn off warming.

    CI's clean clone has no ``var/``; a developer's has the last build, whose search index an
    app over a remote engine would then use (a Virtuoso test passed or failed by it).
    """
    if "ESCP_DATA_DIR" not in os.environ:
        os.environ["ESCP_DATA_DIR"] = tempfile.mkdtemp(prefix=_OWN_DATA_DIR)
    # Apps made in tests render no pages in the background, so that what a test counts is
    # what its requests did; the servers of tests/servers.py turn it on again.
    os.environ.setdefault("ESCP_WARM_PAGES", "false")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = os.environ.get("ESCP_DATA_DIR", "")
    if Path(folder).name.startswith(_OWN_DATA_DIR):
        shutil.rmtree(folder, ignore_errors=True)
        del os.environ["ESCP_DATA_DIR"]


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
