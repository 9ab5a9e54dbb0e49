"""Compression of pages, API answers and RDF documents: per coding, with its own ETag."""

from __future__ import annotations

import gzip

import brotli
import pytest
from flask.testing import FlaskClient

DOCUMENTS = [
    ("/", "text/html"),
    ("/id/partnership/adpack", "text/turtle"),
    ("/id/partnership/adpack", "application/ld+json"),
    ("/api/queries/partnerships", "application/json"),
    ("/dataset", "text/html"),
]


@pytest.mark.parametrize(("path", "accept"), DOCUMENTS)
def test_gzip_answer_decodes_to_the_plain_one(client: FlaskClient, path: str, accept: str) -> None:
    plain = client.get(path, headers={"Accept": accept})
    packed = client.get(path, headers={"Accept": accept, "Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Content-Encoding" not in plain.headers


def test_brotli_is_chosen_when_preferred(client: FlaskClient) -> None:
    plain = client.get("/", headers={"Accept": "text/html"})
    packed = client.get("/", headers={"Accept": "text/html", "Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data


def test_refused_coding_and_small_bodies_go_out_plain(client: FlaskClient) -> None:
    refused = client.get("/", headers={"Accept": "text/html", "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert len(small.data) < 1024 and "Content-Encoding" not in small.headers


def test_each_coding_has_its_own_etag_and_its_304(client: FlaskClient) -> None:
    headers = {"Accept": "text/turtle", "Cache-Control": "no-cache"}
    plain = client.get("/id/partnership/adpack", headers=headers)
    packed = client.get("/id/partnership/adpack", headers={**headers, "Accept-Encoding": "gzip"})
    assert plain.headers["ETag"] != packed.headers["ETag"]
    assert packed.headers["ETag"].endswith('-gzip"')
    again = client.get(
        "/id/partnership/adpack",
        headers={**headers, "Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]},
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == packed.headers["ETag"]


@pytest.mark.parametrize(
    ("url", "accept"),
    [
        ("/", "text/html"),
        ("/id/partnership/adpack", "text/turtle"),
        ("/api/queries/partnerships", "application/sparql-results+json"),
    ],
)
def test_an_uncompressed_answer_still_varies_on_accept_encoding(
    client: FlaskClient, url: str, accept: str
) -> None:
    # A shared cache must not hand this identity copy to a client that asked for gzip.
    plain = client.get(url, headers={"Accept": accept})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    head = client.head(url, headers={"Accept": accept, "Accept-Encoding": "gzip"})
    assert "Accept-Encoding" in head.headers["Vary"]
