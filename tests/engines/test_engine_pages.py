"""The linked-data page tests of tests/web/test_pages.py, over each engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import test_pages
from flask.testing import FlaskClient
from reuse import reused_tests

pytestmark = pytest.mark.engines

globals().update(reused_tests(test_pages, {"client"}))


@pytest.fixture()
def client(make_engine_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_engine_client()
