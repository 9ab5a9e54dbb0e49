"""The build: validated before it is served, and a failed build changes nothing served."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from sources import partnership_rows

from server.build.info import BuildInfo, current_build
from server.build.pipeline import BuildError, DataInvalidError, build
from server.cli import main
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, GRAPHS, graph_iri

COUNT_PARTNERSHIPS = (
    "SELECT (COUNT(?p) AS ?n) WHERE { ?p a <https://w3id.org/escp4i/def#Partnership> }"
)


def _count(store: EmbeddedStore) -> int:
    result = store.query(COUNT_PARTNERSHIPS)
    assert isinstance(result, ox.QuerySolutions)
    return int(next(iter(result))["n"].value)


def test_build_keeps_inputs_in_separate_named_graphs(
    built: BuildInfo, store: EmbeddedStore
) -> None:
    result = store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
    assert isinstance(result, ox.QuerySolutions)
    graphs = {s["g"].value for s in result}
    assert graphs == {graph_iri(n) for n in GRAPHS}
    assert {"data", "meta", "ontology", "shapes", "queries"} <= set(GRAPHS)
    assert built.graphs["data"] > 1000
    assert built.triples == sum(built.graphs.values())


def test_default_graph_is_the_union_of_the_named_graphs(store: EmbeddedStore) -> None:
    result = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert isinstance(result, ox.QuerySolutions)
    assert int(next(iter(result))["n"].value) == store.info.triples


def test_dataset_description_counts_the_data_graph(store: EmbeddedStore, built: BuildInfo) -> None:
    q = """
    PREFIX void: <http://rdfs.org/ns/void#>
    SELECT ?triples ?partnerships WHERE {
      <https://w3id.org/escp4i/dataset> void:triples ?triples ;
        void:classPartition [ void:class <https://w3id.org/escp4i/def#Partnership> ;
                              void:entities ?partnerships ] .
    }"""
    result = store.query(q)
    assert isinstance(result, ox.QuerySolutions)
    row = next(iter(result))
    assert int(row["triples"].value) == built.graphs["data"]
    assert int(row["partnerships"].value) == _count(store)


def test_syntax_error_fails_the_build_and_keeps_the_served_store(
    project_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "var"
    first = build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="1")
    broken = project_copy / "data" / "partnerships.ttl"
    broken.write_text(
        broken.read_text() + "\npartnership:x a escp:Partnership ; escp:acronym <no closing .\n"
    )
    with pytest.raises(BuildError) as caught:
        build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="2")
    assert "partnerships.ttl" in str(caught.value)
    assert "line" in str(caught.value)
    assert current_build(out) == Path(first.path)
    assert _count(EmbeddedStore.current(out)) == len(partnership_rows())


def test_shacl_violation_fails_the_build_naming_the_focus_node(
    project_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "var"
    first = build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="1")
    data = project_copy / "data" / "countries.ttl"
    # A second Wikidata link on Belgium breaks "exactly one QID".
    data.write_text(
        data.read_text().replace("owl:sameAs wd:Q31 ;", "owl:sameAs wd:Q31 , wd:Q999999 ;")
    )
    with pytest.raises(DataInvalidError) as caught:
        build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="2")
    assert "https://w3id.org/escp4i/id/country/be" in str(caught.value)
    assert not caught.value.report.conforms
    assert current_build(out) == Path(first.path)
    assert _count(EmbeddedStore.current(out)) == len(partnership_rows())


def test_cli_build_exits_non_zero_on_a_violation_and_names_the_node(
    project_copy: Path, tmp_path: Path
) -> None:
    data = project_copy / "data" / "partnerships.ttl"
    data.write_text(data.read_text().replace('escp:acronym "AdPack" ;', ""))
    result = CliRunner().invoke(
        main, ["--project-dir", str(project_copy), "--data-dir", str(tmp_path / "var"), "build"]
    )
    assert result.exit_code == 1
    assert "https://w3id.org/escp4i/id/partnership/adpack" in result.output
    assert "served store is unchanged" in result.output


def test_missing_input_folder_fails_the_build(project_copy: Path, tmp_path: Path) -> None:
    for path in (project_copy / "shapes").iterdir():
        path.unlink()
    (project_copy / "shapes").rmdir()
    with pytest.raises(BuildError, match="shapes: input folder missing"):
        build(project_copy, tmp_path / "var", base_iri=DEFAULT_BASE_IRI, version="1")


def test_base_iri_is_configurable(project_copy: Path, tmp_path: Path) -> None:
    info = build(project_copy, tmp_path / "var", base_iri="http://example.test/kg/", version="1")
    store = EmbeddedStore(Path(info.path))
    result = store.query(
        "ASK { <http://example.test/kg/id/partnership/adpack> "
        "a <http://example.test/kg/def#Partnership> }"
    )
    assert isinstance(result, ox.QueryBoolean)
    assert bool(result)
    old = store.query("ASK { <https://w3id.org/escp4i/id/partnership/adpack> ?p ?o }")
    assert isinstance(old, ox.QueryBoolean)
    assert not bool(old)


def test_old_builds_are_pruned(project_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "var"
    for n in range(5):
        build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version=str(n))
    assert len(list((out / "builds").iterdir())) == 3


def test_a_copied_build_reads_its_files_where_it_is_now(built: BuildInfo, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / Path(built.path).name
    shutil.copytree(built.path, copy)
    moved = BuildInfo.load(copy)
    assert moved.path == str(copy)
    assert moved.release == built.release and moved.content_hash == built.content_hash


def test_two_builds_with_one_source_date_epoch_are_identical(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")  # 2025-12-01T00:00:00Z
    first = build(project_copy, tmp_path / "a", base_iri=DEFAULT_BASE_IRI, version="1")
    second = build(project_copy, tmp_path / "b", base_iri=DEFAULT_BASE_IRI, version="1")
    assert first.built_at == second.built_at == "2025-12-01T00:00:00+00:00"
    assert first.release == second.release
    assert [(d["name"], d["sha256"]) for d in first.dumps] == [
        (d["name"], d["sha256"]) for d in second.dumps
    ]


def test_a_bad_source_date_epoch_fails_the_build(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        build(project_copy, tmp_path / "var", base_iri=DEFAULT_BASE_IRI, version="1")
