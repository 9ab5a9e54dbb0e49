"""Citing the release: /cite in four formats, parsed with kept libraries, and CITATION.cff."""

from __future__ import annotations

import json
import subprocess
import tomllib
import venv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import bibtexparser
import html5lib
import pyoxigraph as ox
import pytest
import rispy
import yaml
from flask.testing import FlaskClient
from htmlcheck import check_html
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF

from server.build.info import BuildInfo
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, graph_iri

ROOT: Final = Path(__file__).resolve().parents[2]
NS: Final = "{http://www.w3.org/1999/xhtml}"
BROWSER: Final = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
#: cffconvert 2 pins jsonschema<4, so it gets a venv of its own, made once inside the
#: project's (gitignored, and rebuilt with it).
TOOLS: Final = ROOT / ".venv" / "tools" / "cffconvert"
CFFCONVERT: Final = "cffconvert>=2.0.0,<3"
FORMATS: Final = {
    "txt": "text/plain",
    "bib": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "json": "application/vnd.citationstyles.csl+json",
}

_META: Final = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?ds ?title ?license WHERE {
  GRAPH <{meta}> { ?ds a dcat:Dataset ; dcterms:title ?title ; dcterms:license ?license }
}
"""


@dataclass(frozen=True)
class Expected:
    """What every citation must name, read from the build and its meta graph."""

    iri: str
    title: str
    licence: str
    release: str
    date: str


@pytest.fixture(scope="module")
def expected(built: BuildInfo, store: EmbeddedStore) -> Expected:
    query = _META.replace("{meta}", graph_iri("meta", DEFAULT_BASE_IRI))
    rows = [r for r in store.query(query) if isinstance(r, ox.QuerySolution)]
    assert len(rows) == 1, "the meta graph describes exactly one dcat:Dataset"
    row = rows[0]
    return Expected(
        iri=row["ds"].value,
        title=row["title"].value,
        licence=row["license"].value,
        release=built.release,
        date=built.built_at[:10],
    )


def names_everything(text: str, want: Expected) -> list[str]:
    """Return what a citation text fails to name."""
    return [v for v in (want.iri, want.licence, want.release) if v not in text]


@pytest.mark.parametrize(("suffix", "media_type"), FORMATS.items())
def test_get_cite_format_answers_its_media_type(
    client: FlaskClient, suffix: str, media_type: str, expected: Expected
) -> None:
    resp = client.get(f"/cite.{suffix}")
    assert resp.status_code == 200
    assert resp.mimetype == media_type
    assert resp.headers["Content-Type"].endswith("charset=utf-8")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert names_everything(resp.get_data(as_text=True), expected) == []


def test_get_cite_bib_parses_with_bibtexparser(client: FlaskClient, expected: Expected) -> None:
    library = bibtexparser.parse_string(client.get("/cite.bib").get_data(as_text=True))
    assert library.failed_blocks == []
    assert len(library.entries) == 1
    entry = library.entries[0]
    assert entry.entry_type == "misc"
    fields = entry.fields_dict
    assert fields["version"].value == expected.release
    assert fields["date"].value == expected.date
    assert fields["year"].value == expected.date[:4]
    assert fields["url"].value == expected.iri
    assert expected.licence in fields["note"].value
    assert fields["title"].value.strip("{}") == expected.title
    assert fields["author"].value.strip("{}") == _ontology_creator()


def test_get_cite_ris_parses_with_rispy(client: FlaskClient, expected: Expected) -> None:
    entries = rispy.loads(client.get("/cite.ris").get_data(as_text=True))
    assert len(entries) == 1
    entry = entries[0]
    assert entry["type_of_reference"] == "DATA"
    assert entry["title"] == expected.title
    assert entry["edition"] == expected.release
    assert entry["date"] == expected.date.replace("-", "/")
    assert entry["year"] == expected.date[:4]
    assert entry["urls"] == [expected.iri]
    assert any(expected.licence in note for note in entry["notes"])
    assert entry["authors"] == [_ontology_creator()]


def test_get_cite_json_is_csl_with_required_fields(client: FlaskClient, expected: Expected) -> None:
    items = json.loads(client.get("/cite.json").get_data(as_text=True))
    assert isinstance(items, list) and len(items) == 1
    item = items[0]
    assert {"type", "id", "title", "issued", "URL", "version"} <= item.keys()
    assert item["type"] == "dataset"
    assert item["title"] == expected.title
    assert item["version"] == expected.release
    assert item["URL"] == expected.iri
    year, month, day = (int(p) for p in expected.date.split("-"))
    assert item["issued"] == {"date-parts": [[year, month, day]]}
    assert item["custom"]["license"] == expected.licence
    assert expected.licence in item["note"]
    # CSL-JSON allows no other keys (additionalProperties: false in csl-data.json).
    assert item.keys() <= CSL_KEYS


def test_get_cite_txt_is_one_apa_like_reference(client: FlaskClient, expected: Expected) -> None:
    text = client.get("/cite.txt").get_data(as_text=True)
    assert len(text.splitlines()) == 1
    assert text.startswith(f"{_ontology_creator()}. ({expected.date[:4]}, ")
    assert f"(Version {expected.release}) [Data set]" in text
    assert text.endswith(expected.iri)


def test_get_cite_shows_each_format_as_downloaded(client: FlaskClient, expected: Expected) -> None:
    resp = client.get("/cite", headers=BROWSER)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert check_html(html) == []
    root = html5lib.parse(html)
    boxes = {el.get("id"): el.text or "" for el in root.iter(f"{NS}textarea")}
    for suffix in FORMATS:
        download = client.get(f"/cite.{suffix}").get_data(as_text=True)
        # HTML drops one leading newline of a textarea and normalises CR LF to LF.
        assert boxes[f"citation-{suffix}"] == download.replace("\r\n", "\n")
        links = [a for a in root.iter(f"{NS}a") if a.get("href") == f"/cite.{suffix}"]
        assert links and links[0].get("download", "").endswith(f".{suffix}")
    assert expected.date in _text(root)


def test_get_cite_unknown_format_is_404(client: FlaskClient) -> None:
    resp = client.get("/cite.xml")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/", "/partnerships", "/dataset", "/id/country/be", "/cite"])
def test_footer_links_to_the_citation(client: FlaskClient, path: str) -> None:
    root = html5lib.parse(client.get(path, headers=BROWSER).get_data(as_text=True))
    footer = root.find(f".//{NS}footer")
    assert footer is not None
    assert any(a.get("href") == "/cite" for a in footer.iter(f"{NS}a"))


def test_dataset_page_cites_the_release(client: FlaskClient, expected: Expected) -> None:
    root = html5lib.parse(client.get("/dataset", headers=BROWSER).get_data(as_text=True))
    section = next(s for s in root.iter(f"{NS}section") if s.get("aria-labelledby") == "cite")
    assert _text(section).count(expected.release) >= 1
    assert names_everything(_text(section), expected) == []
    hrefs = {a.get("href") for a in section.iter(f"{NS}a")}
    assert {f"/cite.{s}" for s in FORMATS} | {"/cite"} <= hrefs


def test_citation_cff_validates_with_cffconvert() -> None:
    result = subprocess.run(
        [str(_cffconvert()), "--validate", "-i", str(ROOT / "CITATION.cff")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_citation_cff_validator_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "CITATION.cff"
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    broken.write_text(text.replace("cff-version: 1.2.0", "cff-version: 1.2.0\ntitel: x"))
    result = subprocess.run(
        [str(_cffconvert()), "--validate", "-i", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0


def test_citation_cff_states_what_the_project_states() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == project["version"]
    assert project["license"] in cff["license"]
    assert cff["abstract"] == project["description"]
    readme_title = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert readme_title == f"# {cff['title']}"
    assert cff["authors"] == [{"name": _ontology_creator()}]
    assert cff["url"] == DEFAULT_BASE_IRI
    assert {"type": "url", "value": f"{DEFAULT_BASE_IRI}dataset"} in [
        {k: i[k] for k in ("type", "value")} for i in cff["identifiers"]
    ]


#: The item keys csl-data.json (CSL 1.0.2) allows that these citations could use.
CSL_KEYS: Final = {
    "id",
    "type",
    "title",
    "version",
    "URL",
    "note",
    "custom",
    "author",
    "issued",
    "abstract",
}


def _ontology_creator() -> str:
    g = Graph().parse(ROOT / "ontology" / "escp4i.ttl")
    ontology = next(g.subjects(RDF.type, OWL.Ontology))
    assert isinstance(ontology, URIRef)
    return str(g.value(ontology, DCTERMS.creator))


def _text(el: ET.Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _cffconvert() -> Path:
    """Return the cffconvert command, making its venv on first use."""
    exe = TOOLS / "bin" / "cffconvert"
    if not exe.exists():
        venv.create(TOOLS, with_pip=True)
        subprocess.run(
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", CFFCONVERT],
            check=True,
            timeout=300,
        )
    assert exe.exists(), f"no {exe} after installing {CFFCONVERT}"
    return exe
