"""Dumps of a build: written with size and sha256, served with their media type and checksum."""

from __future__ import annotations

import gzip
import hashlib
import re
import warnings
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask.testing import FlaskClient
from rdflib import Dataset, Graph, Literal, URIRef

from server.build import dumps
from server.build.info import BuildInfo
from server.vocab import DEFAULT_BASE_IRI, ESCP

PARSERS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}
ADPACK = URIRef(DEFAULT_BASE_IRI + "id/partnership/adpack")


def _parse(data: bytes, media_type: str) -> list[tuple[object, object, object]]:
    """Parse a dump with rdflib; return its statements as (s, p, o), graphs dropped."""
    fmt = PARSERS[media_type]
    with warnings.catch_warnings():
        # rdflib 7.6 deprecates its own ConjunctiveGraph/default_context, used by these parsers.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        warnings.filterwarnings("ignore", "Dataset.default_context", DeprecationWarning)
        if fmt in ("nquads", "trig"):
            dataset = Dataset().parse(data=data, format=fmt)
            return [(s, p, o) for s, p, o, _ in dataset.quads((None, None, None, None))]
        return list(Graph().parse(data=data, format=fmt))


def test_build_writes_every_dump_with_its_record(built: BuildInfo) -> None:
    names = {r["name"]: r for r in built.dumps}
    plain = {"escp4i-data.ttl", "escp4i-data.nt", "escp4i-data.jsonld", "escp4i-all.nq"}
    plain.add("escp4i-all.trig")
    assert set(names) == plain | {f"{name}.gz" for name in plain}
    for record in built.dumps:
        path = Path(built.path) / "dumps" / record["name"]
        data = path.read_bytes()
        assert record["bytes"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert set(record) >= {"name", "format", "media_type", "bytes", "sha256"}


@pytest.mark.parametrize(
    "name",
    ["escp4i-data.ttl", "escp4i-data.nt", "escp4i-data.jsonld", "escp4i-all.nq", "escp4i-all.trig"],
)
def test_download_dump_parses_and_matches_the_dataset_page(
    client: FlaskClient, built: BuildInfo, name: str
) -> None:
    page = client.get("/dataset", headers={"Accept": "text/html"}).get_data(as_text=True)
    row = page[page.index(f'href="/dumps/{name}"') :].split("</tr>", 1)[0]
    shown = re.search(r'data-sha256="([0-9a-f]{64})"', row)
    assert shown is not None
    with client.get(f"/dumps/{name}") as resp:
        data = resp.data
    assert resp.status_code == 200
    record = next(r for r in built.dumps if r["name"] == name)
    assert resp.mimetype == record["media_type"]
    assert hashlib.sha256(data).hexdigest() == shown.group(1) == record["sha256"]
    parsed = _parse(data, record["media_type"])
    expected = built.triples if record["graphs"] == "all" else built.graphs["data"]
    assert len(parsed) == expected == record["statements"]
    assert (ADPACK, URIRef(str(ESCP.acronym)), Literal("AdPack")) in parsed


def test_download_dump_answers_304_to_its_checksum(client: FlaskClient, built: BuildInfo) -> None:
    record = built.dumps[0]
    with client.get(f"/dumps/{record['name']}") as first:
        assert first.headers["ETag"] == f'"{record["sha256"]}"'
    tag = first.headers["ETag"]
    with client.get(f"/dumps/{record['name']}", headers={"If-None-Match": tag}) as again:
        assert again.status_code == 304


def test_download_unknown_dump_returns_404(client: FlaskClient) -> None:
    resp = client.get("/dumps/escp4i-data.xlsx")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_dataset_document_describes_dumps_as_distributions(
    client: FlaskClient, built: BuildInfo
) -> None:
    g = Graph().parse(data=client.get("/dataset.ttl").data, format="turtle")
    dcat = "http://www.w3.org/ns/dcat#"
    spdx = "http://spdx.org/rdf/terms#"
    dataset = URIRef(DEFAULT_BASE_IRI + "dataset")
    distributions = set(g.objects(dataset, URIRef(dcat + "distribution")))
    assert len(distributions) == len(built.dumps)
    for record in built.dumps:
        dist = URIRef(f"{DEFAULT_BASE_IRI}dumps/{record['name']}")
        assert dist in distributions
        assert g.value(dist, URIRef(dcat + "byteSize")).toPython() == record["bytes"]  # type: ignore[union-attr]
        checksum = g.value(dist, URIRef(spdx + "checksum"))
        assert str(g.value(checksum, URIRef(spdx + "checksumValue"))) == record["sha256"]


def test_write_dumps_the_data_graph_and_all_graphs(tmp_path: Path) -> None:
    store = ox.Store()
    data = ox.NamedNode(DEFAULT_BASE_IRI + "graph/data")
    meta = ox.NamedNode(DEFAULT_BASE_IRI + "graph/meta")
    s, p = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p")
    store.add(ox.Quad(s, p, ox.Literal("in data"), data))
    store.add(ox.Quad(s, p, ox.Literal("in meta"), meta))
    records = {r["name"]: r for r in dumps.write(store, tmp_path)}
    assert records["escp4i-data.nt"]["statements"] == 1
    assert records["escp4i-all.nq"]["statements"] == 2
    assert b"in meta" not in (tmp_path / "escp4i-data.ttl").read_bytes()
    assert b"in meta" in (tmp_path / "escp4i-all.trig").read_bytes()
    again = {r["name"]: r for r in dumps.write(store, tmp_path / "again")}
    assert again["escp4i-all.nq"]["sha256"] == records["escp4i-all.nq"]["sha256"]


def test_write_without_a_data_graph_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="graph/data"):
        dumps.write(ox.Store(), tmp_path)


@pytest.mark.parametrize("name", ["escp4i-data.ttl", "escp4i-all.nq"])
def test_gzipped_dump_holds_the_same_bytes_and_has_its_own_checksum(
    client: FlaskClient, built: BuildInfo, name: str
) -> None:
    records = {r["name"]: r for r in built.dumps}
    with client.get(f"/dumps/{name}") as plain, client.get(f"/dumps/{name}.gz") as packed:
        assert packed.mimetype == "application/gzip"
        assert gzip.decompress(packed.data) == plain.data
        assert hashlib.sha256(packed.data).hexdigest() == records[f"{name}.gz"]["sha256"]
        assert records[f"{name}.gz"]["bytes"] == len(packed.data) < len(plain.data)
    page = client.get("/dataset", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="/dumps/{name}.gz"' in page
    assert records[f"{name}.gz"]["sha256"] in page
