"""Paths that cannot name anything: a 404 for the family, a bad percent-encoding a 400."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

NOT_IRIS = ["a<b>", "x`y", "a%09b", "a%20b", "[x]", "{x}", "a|b", "a%22b", "a%5Cb", "a^b"]
BAD_ESCAPES = ["%Pt", "a%zz", "%", "ab%4", "%G1x"]


@pytest.mark.parametrize("family", ["partnership", "cluster", "country", "continuity"])
@pytest.mark.parametrize("tail", NOT_IRIS)
def test_get_path_that_is_no_iri_returns_404_problem(
    client: FlaskClient, family: str, tail: str
) -> None:
    resp = client.get(f"/id/{family}/{tail}", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert json.loads(resp.data)["status"] == 404


@pytest.mark.parametrize("path", ["/id/partnership/", "/api/queries/", "/sources/", "/"])
@pytest.mark.parametrize("tail", BAD_ESCAPES)
def test_get_path_with_bad_percent_encoding_returns_400(
    client: FlaskClient, path: str, tail: str
) -> None:
    resp = client.get(path + tail, headers={"Accept": "application/json"})
    assert resp.status_code == 400
    assert "percent-encoding" in json.loads(resp.data)["detail"]
