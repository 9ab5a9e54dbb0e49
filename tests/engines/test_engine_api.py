"""Every named query of the API gives the embedded store's answer over each engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import test_api
from flask.testing import FlaskClient

pytestmark = pytest.mark.engines

test_named_query_gives_the_same_answer_on_both_backends = (
    test_api.test_named_query_gives_the_same_answer_on_both_backends
)


@pytest.fixture()
def remote_client(make_engine_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_engine_client()
