"""The source files of the release: listed, served byte for byte, nothing else reachable."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import html5lib
import pytest
from flask.testing import FlaskClient

from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "data" / "sources"


def test_get_sources_lists_every_table_and_note_with_its_sha256(client: FlaskClient) -> None:
    resp = client.get("/sources/", headers={"Accept": "application/json"})
    assert resp.status_code == 200
    listed = {f["name"]: f for f in json.loads(resp.data)}
    on_disk = {p.name for p in SOURCES.iterdir() if p.suffix in (".csv", ".md")}
    on_disk |= {f"mappings/{p.name}" for p in (ROOT / "data" / "mappings").glob("*.csv")}
    assert set(listed) == on_disk
    notes = listed["escp4i-gen2-NOTES.md"]
    data = (SOURCES / "escp4i-gen2-NOTES.md").read_bytes()
    assert notes["sha256"] == hashlib.sha256(data).hexdigest()
    assert notes["bytes"] == len(data)


def test_get_sources_index_for_a_browser_links_each_file(client: FlaskClient) -> None:
    resp = client.get("/sources/", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    doc = html5lib.parse(resp.data, namespaceHTMLElements=False)
    hrefs = {a.get("href") for a in doc.iter("a")}
    assert "/sources/escp4i-successors.csv" in hrefs
    assert "/sources/mappings/markets.csv" in hrefs


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("escp4i-gen2-partnerships.csv", "text/csv"),
        ("escp4i-gen1-NOTES.md", "text/markdown"),
        ("mappings/stated-figures-gen2.csv", "text/csv"),
    ],
)
def test_get_source_file_returns_its_bytes(client: FlaskClient, name: str, media_type: str) -> None:
    folder = ROOT / "data" / ("mappings" if name.startswith("mappings/") else "sources")
    expected = (folder / name.removeprefix("mappings/")).read_bytes()
    resp = client.get(f"/sources/{name}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert resp.data == expected
    if name.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8"))))
        assert len(rows) == len(list(csv.DictReader(io.StringIO(expected.decode("utf-8")))))


def test_get_source_file_with_its_etag_returns_304(client: FlaskClient) -> None:
    first = client.get("/sources/escp4i-successors.csv")
    again = client.get(
        "/sources/escp4i-successors.csv", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/sources/nope.csv",
        "/sources/../pyproject.toml",
        "/sources/%2e%2e/pyproject.toml",
        "/sources/mappings/../../pyproject.toml",
        "/sources/countries.ttl",
        "/sources/.hidden.csv",
        "/sources/sub/dir/file.csv",
    ],
)
def test_get_source_outside_the_release_returns_404_problem(client: FlaskClient, path: str) -> None:
    resp = client.get(path, headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert b"Traceback" not in resp.data


def test_every_source_iri_under_the_base_dereferences(
    client: FlaskClient, store: EmbeddedStore
) -> None:
    result = store.query(
        "SELECT DISTINCT ?s WHERE { ?x <http://purl.org/dc/terms/source> ?s "
        f'FILTER(STRSTARTS(STR(?s), "{DEFAULT_BASE_IRI}sources/")) }}'
    )
    found = [str(row["s"].value) for row in result]  # type: ignore[union-attr]  # a SELECT
    assert found, "the evidence and link-strength concepts cite the compilation notes"
    for iri in found:
        resp = client.get("/" + iri.removeprefix(DEFAULT_BASE_IRI))
        assert resp.status_code == 200, iri
