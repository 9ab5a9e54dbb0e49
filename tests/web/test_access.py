"""Every answer: a request id, an access log line, security headers, counted in /metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

ROUTES = [
    "/",
    "/health",
    "/sparql?query=ASK%7B%7D",
    "/api/queries",
    "/id/partnership/adpack",
    "/dataset",
    "/sources/",
    "/id/partnership/no-such-thing",
    "/static/site.css",
]


@pytest.mark.parametrize("path", ROUTES)
def test_every_answer_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    resp = client.get(path, headers={"Accept": "text/html"})
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("style-src")[0]  # never for scripts
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def test_a_replayed_answer_gets_its_own_request_id_and_the_headers(client: FlaskClient) -> None:
    first = client.get("/dataset", headers={"Accept": "text/turtle"})
    second = client.get("/dataset", headers={"Accept": "text/turtle"})
    assert second.headers.get("ESCP-Cache") == "hit"
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert second.headers["X-Content-Type-Options"] == "nosniff"


def test_a_tame_client_request_id_is_echoed(client: FlaskClient) -> None:
    resp = client.get("/health", headers={"X-Request-ID": "abc-123.def:9"})
    assert resp.headers["X-Request-ID"] == "abc-123.def:9"


@pytest.mark.parametrize("given", ["<script>", "x" * 200, "a b", ""])
def test_an_untame_client_request_id_is_replaced(client: FlaskClient, given: str) -> None:
    resp = client.get("/health", headers={"X-Request-ID": given})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])


def test_the_access_log_names_request_status_and_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="server.access"),
        client.get("/health?probe=1", headers={"X-Request-ID": "log-me-1"}) as resp,
    ):
        assert resp.get_data()
    lines = [r for r in caplog.records if r.name == "server.access"]
    assert lines, "one access line per request"
    line = lines[-1]
    assert "GET /health?probe=1" in line.getMessage()
    assert "id=log-me-1" in line.getMessage()
    assert line.status == resp.status_code == 200  # type: ignore[attr-defined]  # an extra field
    assert line.family == "health"  # type: ignore[attr-defined]


def test_an_unexpected_error_quotes_the_request_id_of_the_header(app: Flask) -> None:
    def boom() -> str:
        raise RuntimeError("not for clients")

    app.add_url_rule("/boom", view_func=boom)
    resp = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert resp.status_code == 500
    problem = json.loads(resp.data)
    assert problem["request_id"] == resp.headers["X-Request-ID"]
    assert "not for clients" not in resp.get_data(as_text=True)


def test_metrics_count_requests_by_family_and_status(client: FlaskClient) -> None:
    before = _sample(client, "escp_requests_total", family="api", status="200")
    for _ in range(3):
        with client.get("/api/queries", headers={"Accept": "application/json"}) as resp:
            assert resp.status_code == 200 and resp.get_data()
    after = _sample(client, "escp_requests_total", family="api", status="200")
    assert after - before == 3


def test_metrics_are_the_prometheus_text_format(client: FlaskClient) -> None:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    names = {f.name for f in text_string_to_metric_families(resp.get_data(as_text=True))}
    assert {"escp_requests", "escp_request_seconds", "escp_queries", "escp_release_info"} <= names


def _sample(client: FlaskClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_cache_hits_and_misses(client: FlaskClient) -> None:
    labels = {"cache": "response"}
    hits = _sample(client, "escp_cache_lookups_total", **labels, result="hit")
    misses = _sample(client, "escp_cache_lookups_total", **labels, result="miss")
    for _ in range(2):
        with client.get("/id/country/be", headers={"Accept": "text/turtle"}) as resp:
            assert resp.get_data()
    assert _sample(client, "escp_cache_lookups_total", **labels, result="hit") >= hits + 1
    assert _sample(client, "escp_cache_lookups_total", **labels, result="miss") >= misses + 1
