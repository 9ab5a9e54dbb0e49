"""The SPARQL Protocol tests of tests/web/test_sparql.py, over each engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import test_sparql
from flask.testing import FlaskClient
from reuse import reused_tests

pytestmark = pytest.mark.engines

globals().update(reused_tests(test_sparql, {"client", "make_client"}))


@pytest.fixture()
def backend() -> str:
    return "sparql"


@pytest.fixture()
def make_client(make_engine_client: Callable[..., FlaskClient]) -> Callable[..., FlaskClient]:
    return make_engine_client


@pytest.fixture()
def client(make_engine_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_engine_client()
