"""Pages derived from the release alone can be cached by an HTTP cache in front."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

PAGES = ["/", "/figures", "/partnerships?sector=packaging", "/clusters", "/map", "/network"]


@pytest.mark.parametrize("url", PAGES)
def test_release_pages_are_public_with_a_strong_etag_and_answer_304(
    client: FlaskClient, url: str
) -> None:
    first = client.get(url, headers={"Accept": "text/html"})
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=600"
    tag = first.headers["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    again = client.get(url, headers={"Accept": "text/html", "If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    other = client.get(url, headers={"Accept": "text/html", "If-None-Match": '"other"'})
    assert other.status_code == 200 and other.data == first.data


def test_errors_and_the_health_check_are_not_made_public(client: FlaskClient) -> None:
    health = client.get("/health")
    assert "public" not in health.headers.get("Cache-Control", "")
    bad = client.get("/partnerships?sector=no-such-sector")
    assert bad.status_code == 400
    assert "public" not in bad.headers.get("Cache-Control", "")
