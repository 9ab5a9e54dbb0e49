"""Refused request bodies through the real servers: the client reads the 413, never a reset."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from servers import Server, data_dir, start_app_server
from SPARQLWrapper import POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from server.build.info import BuildInfo

pytestmark = pytest.mark.e2e

SIZES = [1_500_000, 8_000_000, 20_000_000]


@pytest.fixture(scope="module", params=["granian", "gunicorn"])
def site(request: pytest.FixtureRequest, built: BuildInfo) -> Iterator[Server]:
    args = ["--server", request.param, "--workers", "1", "--threads", "4"]
    server = start_app_server({"ESCP_DATA_DIR": data_dir(built)}, args=args)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("size", SIZES)
def test_post_over_the_limit_with_http_client_reads_413_problem(site: Server, size: int) -> None:
    parts = urlsplit(site.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = b"query=" + b"x" * size
        connection.request(
            "POST", "/sparql", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        reply = connection.getresponse()
        problem = json.loads(reply.read())
    finally:
        connection.close()
    assert reply.status == 413
    assert reply.getheader("Content-Type", "").startswith("application/problem+json")
    assert problem["status"] == 413


@pytest.mark.parametrize("size", SIZES)
def test_post_sparql_query_body_over_the_limit_with_urllib_reads_413(
    site: Server, size: int
) -> None:
    request = urllib.request.Request(
        site.url + "/sparql",
        data=b"ASK {} #" + b"x" * size,
        headers={"Content-Type": "application/sparql-query"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    with caught.value as error:
        assert error.code == 413
        assert json.loads(error.read())["title"]


def test_sparqlwrapper_over_the_limit_raises_its_http_error_not_a_broken_pipe(
    site: Server,
) -> None:
    client = SPARQLWrapper(site.url + "/sparql")
    client.setMethod(POST)
    client.setQuery("ASK { ?s ?p " + '"' + "x" * 3_000_000 + '" }')
    # SPARQLWrapper wraps some statuses in its own exceptions and lets urllib's through.
    with pytest.raises((SPARQLWrapperException, urllib.error.HTTPError)) as caught:
        client.query()
    assert isinstance(caught.value, urllib.error.HTTPError)
    with caught.value as error:
        assert error.code == 413


def test_server_answers_normally_after_refused_bodies(site: Server) -> None:
    with urllib.request.urlopen(site.url + "/health", timeout=10) as reply:
        assert json.load(reply)["status"] == "ok"
    assert "Traceback" not in site.log.read_text(encoding="utf-8", errors="replace")
