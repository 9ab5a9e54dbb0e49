"""The query catalog: header checks on real fixture files, typed binding, the examples graph."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SH

from server import catalog
from server.build.info import BuildInfo, current_build
from server.build.pipeline import BuildError, build
from server.catalog import CatalogError, NamedQuery, Parameter, querytext
from server.errors import BadRequestError
from server.store.embedded import EmbeddedStore
from server.vocab import DEFAULT_BASE_IRI, SCHEMA, graph_iri
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "queries"
FIXTURES = Path(__file__).resolve().parents[1] / "queries"
REAL = sorted(QUERIES.glob("*.rq"))

#: Each broken fixture and a phrase its error must contain, besides the file's path.
BROKEN = {
    "bad-yaml.rq": "header is not valid YAML",
    "unknown-type.rq": "unknown type 'uri'; legal types: iri, string, integer",
    "unprojected-parameter.rq": "parameter 'country' is not projected",
    "unused-parameter.rq": "parameter 'sector' is declared but the query does not use ?sector",
    "missing-title.rq": "header needs a non-empty 'title'",
    "missing-description.rq": "header needs a non-empty 'description'",
    "unknown-key.rq": "unknown header key 'summary'; legal keys: title, description",
    "unknown-parameter-key.rq": "unknown parameter 'q' key 'pattern'",
    "syntax-error.rq": "SPARQL syntax error",
    "not-select.rq": "a named query must be a SELECT query",
    "no-header.rq": "no '#+' header",
    "required-without-example.rq": "a required parameter needs an 'example'",
    "ill-typed-example.rq": "example 'two' is not an integer",
    "Not_Kebab.rq": "the file name must be kebab-case",
}


def test_every_broken_fixture_is_listed() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.rq")) == sorted(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_parse_file_rejects_broken_header_naming_the_file(name: str) -> None:
    path = FIXTURES / name
    with pytest.raises(CatalogError) as caught:
        catalog.parse_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert BROKEN[name] in message, message


def test_load_of_a_folder_with_a_broken_file_fails_naming_it(tmp_path: Path) -> None:
    for path in REAL[:3]:
        shutil.copy(path, tmp_path)
    shutil.copy(FIXTURES / "unknown-type.rq", tmp_path)
    with pytest.raises(CatalogError, match=r"unknown-type\.rq: parameter 'country'"):
        catalog.load(tmp_path)


def test_load_of_a_missing_folder_fails(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="query folder missing"):
        catalog.load(tmp_path / "queries")


def test_load_reads_every_real_query() -> None:
    loaded = catalog.load(QUERIES)
    assert [q.name for q in loaded] == sorted(p.stem for p in REAL)
    assert len(loaded) >= 14


@pytest.mark.parametrize("path", REAL, ids=[p.stem for p in REAL])
def test_real_query_parses_on_an_empty_store_and_binds_its_examples(path: Path) -> None:
    query = catalog.parse_file(path)
    assert query.title and query.description
    empty = ox.Store()
    plain = empty.query(query.text)
    assert isinstance(plain, ox.QuerySolutions)
    assert tuple(v.value for v in plain.variables) == query.variables
    bound = empty.query(query.example_text())
    assert isinstance(bound, ox.QuerySolutions)
    assert tuple(v.value for v in bound.variables) == query.variables
    # pyoxigraph's own pre-binding accepts every parameter too: each one is projected.
    examples = query.example_args()
    substitutions = {
        ox.Variable(p.name): p.coerce(examples[p.name])
        for p in query.parameters
        if p.name in examples
    }
    assert isinstance(empty.query(query.text, substitutions=substitutions), ox.QuerySolutions)
    for parameter in query.parameters:
        assert parameter.name in query.variables
        if parameter.required:
            assert parameter.name in examples


def test_header_yaml_is_parsed_into_typed_parameters() -> None:
    query = catalog.parse_file(QUERIES / "partnerships.rq")
    funding = query.parameter("funding")
    assert funding == Parameter(
        name="funding",
        type="iri",
        description="Funding type of the partnership.",
        enum=(
            "https://w3id.org/escp4i/id/funding/co-funded",
            "https://w3id.org/escp4i/id/funding/voluntary",
        ),
    )
    assert query.parameter("nope") is None
    assert "partnerships" in query.tags
    minimum = catalog.parse_file(QUERIES / "clusters-in-several-partnerships.rq").parameters[0]
    assert (minimum.type, minimum.default, minimum.required) == ("integer", "2", False)


def _concepts(store: EmbeddedStore, pattern: str) -> set[str]:
    result = store.query(
        "PREFIX escp: <https://w3id.org/escp4i/def#> "
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        f"SELECT DISTINCT ?x WHERE {{ {pattern} }}"
    )
    assert isinstance(result, ox.QuerySolutions)
    return {str(row["x"].value) for row in result}


GENERATION_QUERIES = [p for p in REAL if catalog.parse_file(p).parameter("generation")]


def test_queries_that_list_or_count_partnerships_take_a_generation() -> None:
    assert {p.stem for p in GENERATION_QUERIES} >= {
        "partnerships", "enumerated-counts", "partnerships-per-sector",
        "partnerships-per-target-market", "clusters-per-country", "countries",
        "cluster-partnerships", "clusters-in-several-partnerships",
        "partnerships-sharing-members", "search",
    }  # fmt: skip


@pytest.mark.parametrize("path", GENERATION_QUERIES, ids=[p.stem for p in GENERATION_QUERIES])
def test_generation_parameter_offers_the_generations_of_the_graph(
    path: Path, store: EmbeddedStore
) -> None:
    query = catalog.parse_file(path)
    generation = query.parameter("generation")
    assert generation is not None
    assert (generation.type, generation.required) == ("iri", False)
    assert set(generation.enum) == _concepts(store, "?x a escp:Generation")
    assert "generation" in query.variables
    # The description says what the answer covers when no generation is given.
    assert re.search(r"without (it|a generation)", query.description, re.IGNORECASE)


def test_partnerships_filters_offer_every_evidence_level_and_strand(store: EmbeddedStore) -> None:
    query = catalog.parse_file(QUERIES / "partnerships.rq")
    evidence, strand = query.parameter("evidence"), query.parameter("strand")
    assert evidence is not None and strand is not None
    assert set(evidence.enum) == _concepts(
        store, "?x skos:inScheme <https://w3id.org/escp4i/id/evidence>"
    )
    assert set(strand.enum) == _concepts(store, "?p a escp:Partnership ; escp:strand ?x") | {
        "https://w3id.org/escp4i/id/strand/1b"  # named by the call, no partnership listed here
    }
    second = catalog.parse_file(QUERIES / "second-generation.rq").parameter("evidence")
    assert second is not None and second.enum == evidence.enum


def test_header_lines_are_sparql_comments_so_the_whole_file_runs() -> None:
    for path in REAL:
        assert isinstance(ox.Store().query(path.read_text(encoding="utf-8")), ox.QuerySolutions)


def _members() -> NamedQuery:
    return catalog.parse_file(QUERIES / "partnership-members.rq")


def test_bind_puts_a_values_block_at_the_head_of_the_where_clause() -> None:
    query = _members()
    text = query.bind({"partnership": ["https://w3id.org/escp4i/id/partnership/adpack"]})
    values = "VALUES (?partnership) { (<https://w3id.org/escp4i/id/partnership/adpack>) }"
    assert query.text[: query.where_at].endswith("WHERE {")
    assert text == query.text[: query.where_at] + "\n  " + values + query.text[query.where_at :]


def test_bind_without_values_returns_the_query_unchanged() -> None:
    query = catalog.parse_file(QUERIES / "partnerships.rq")
    assert query.bind({}) == query.text
    assert query.bind({"sector": [""]}) == query.text  # an empty value counts as absent


def test_bind_applies_a_default() -> None:
    query = catalog.parse_file(QUERIES / "clusters-in-several-partnerships.rq")
    assert 'VALUES (?minimum) { ("2"^^<http://www.w3.org/2001/XMLSchema#integer>) }' in query.bind(
        {}
    )


@pytest.mark.parametrize(
    ("args", "parameter", "phrase"),
    [
        ({}, "partnership", "is required"),
        ({"partnership": ["adpack"]}, "partnership", "is not an absolute IRI"),
        ({"partnership": ["https://x/a>b"]}, "partnership", "is not an absolute IRI"),
        ({"partnership": ["http://a/1", "http://a/2"]}, "partnership", "given 2 times"),
        ({"partnership": ["http://a/1"], "sort": ["x"]}, "sort", "unknown parameter 'sort'"),
    ],
)
def test_bind_rejects_bad_values_naming_the_parameter(
    args: dict[str, list[str]], parameter: str, phrase: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        _members().bind(args)
    assert caught.value.extra == {"parameter": parameter}
    assert phrase in caught.value.detail


def test_bind_rejects_a_value_outside_the_enum() -> None:
    query = catalog.parse_file(QUERIES / "partnerships.rq")
    with pytest.raises(BadRequestError, match="is not one of"):
        query.bind({"funding": ["https://w3id.org/escp4i/id/funding/unknown"]})


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("integer", "-12", '"-12"^^<http://www.w3.org/2001/XMLSchema#integer>'),
        ("decimal", ".5", '".5"^^<http://www.w3.org/2001/XMLSchema#decimal>'),
        ("boolean", "FALSE", '"false"^^<http://www.w3.org/2001/XMLSchema#boolean>'),
        ("date", "2016-02-29", '"2016-02-29"^^<http://www.w3.org/2001/XMLSchema#date>'),
        ("string", "a\nb", '"a\\nb"'),
        ("iri", "urn:isbn:0451450523", "<urn:isbn:0451450523>"),
    ],
)
def test_coerce_returns_typed_terms(type_: str, raw: str, expected: str) -> None:
    assert str(catalog.coerce(type_, raw)) == expected


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("integer", "1.0"),
        ("integer", ""),
        ("decimal", "1e3"),
        ("decimal", "NaN"),
        ("boolean", "yes"),
        ("date", "2016-3-8"),
        ("date", "2015-02-29"),
        ("iri", "http://x/ y"),
        ("iri", 'http://x/"'),
        ("iri", "http://x/{a}"),
        ("string", "x" * (catalog.MAX_STRING + 1)),
    ],
)
def test_coerce_rejects_values_not_of_the_type(type_: str, raw: str) -> None:
    with pytest.raises(ValueError):
        catalog.coerce(type_, raw)


def test_string_full_of_sparql_syntax_binds_as_one_literal() -> None:
    payload = 'x" } UNION { ?s ?p ?o } # > \\u0022'
    query = catalog.parse_file(QUERIES / "search.rq")
    store = ox.Store()
    region = "https://w3id.org/escp4i/def#Region"
    for i, label in enumerate((payload, "other")):
        node = ox.NamedNode(f"https://w3id.org/escp4i/id/region/r{i}")
        store.add(ox.Quad(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(region)))
        store.add(ox.Quad(node, ox.NamedNode(str(RDFS.label)), ox.Literal(label)))
    result = store.query(query.bind({"q": [payload]}))
    assert isinstance(result, ox.QuerySolutions)
    assert [(row["matched"], row["q"]) for row in result] == [
        (ox.Literal(payload), ox.Literal(payload))
    ]
    # With a line break too it is still one literal: it runs, and no name contains it.
    result = store.query(query.bind({"q": [payload + "\n}"]}))
    assert isinstance(result, ox.QuerySolutions)
    assert list(result) == []


def test_where_group_skips_braces_in_strings_iris_and_comments() -> None:
    text = (
        '# { not here\nSELECT ?x ("{" AS ?b) WHERE { ?x <http://e/{x}> "}" . '
        "FILTER EXISTS { ?x ?p ?o } }"
    )
    found = querytext.where_group(text)
    assert found is not None
    start, end = found
    assert text[start - 7 : start] == "WHERE {"
    assert text[end:] == "}"


def test_examples_graph_publishes_every_query_as_a_select_executable() -> None:
    g = catalog.examples_graph(QUERIES)
    nodes = sorted(g.subjects(RDF.type, SH.SPARQLSelectExecutable))
    base = graph_iri("queries") + "#"
    assert nodes == sorted(URIRef(base + p.stem) for p in REAL)
    members = URIRef(base + "partnership-members")
    assert (members, RDF.type, SH.SPARQLExecutable) in g
    assert g.value(members, RDFS.label) == Literal("Members of one partnership", lang="en")
    assert "coordinator first" in str(g.value(members, RDFS.comment))
    assert (members, SCHEMA.keywords, Literal("wikidata")) in g
    assert g.value(members, SCHEMA.target) == URIRef(DEFAULT_BASE_IRI + "sparql")
    assert g.value(members, DCTERMS.identifier) == Literal("partnership-members")
    for node in nodes:
        text = str(g.value(node, SH.select))
        assert isinstance(ox.Store().query(text), ox.QuerySolutions)
    select = str(g.value(members, SH.select))
    assert "VALUES (?partnership) { (<https://w3id.org/escp4i/id/partnership/adpack>) }" in select


def test_examples_graph_follows_the_base_iri() -> None:
    base = "http://localhost:5000/"
    g = catalog.examples_graph(QUERIES, base)
    node = URIRef(base + "graph/queries#partnership-members")
    select = str(g.value(node, SH.select))
    assert "<http://localhost:5000/id/partnership/adpack>" in select
    assert "PREFIX escp: <http://localhost:5000/def#>" in select
    assert DEFAULT_BASE_IRI not in g.serialize(format="nt")


def test_examples_graph_round_trips_as_turtle() -> None:
    g = catalog.examples_graph(QUERIES)
    again = Graph().parse(data=g.serialize(format="turtle"), format="turtle")
    assert len(again) == len(g)


def test_build_with_a_broken_query_fails_naming_it_and_keeps_the_served_store(
    built: BuildInfo, project_copy: Path
) -> None:
    out = Path(built.path).parents[1]
    served = current_build(out)
    before = sorted(os.listdir(out / "builds"))
    shutil.copy(FIXTURES / "unprojected-parameter.rq", project_copy / "queries")
    broken = project_copy / "queries" / "unprojected-parameter.rq"
    with pytest.raises(BuildError) as caught:
        build(project_copy, out, base_iri=DEFAULT_BASE_IRI, version="0.0.0-test")
    assert str(caught.value).startswith(f"{broken}: parameter 'country' is not projected")
    assert current_build(out) == served
    assert sorted(os.listdir(out / "builds")) == before


def test_build_loads_the_queries_graph(built: BuildInfo) -> None:
    assert built.graphs["queries"] == len(catalog.examples_graph(QUERIES))


def test_app_with_a_broken_query_file_does_not_start(
    project_copy: Path, store: EmbeddedStore
) -> None:
    shutil.copy(FIXTURES / "unknown-type.rq", project_copy / "queries")
    with pytest.raises(CatalogError, match=r"unknown-type\.rq: parameter 'country'"):
        create_app({"TESTING": True, "PROJECT_DIR": str(project_copy)}, backend=store)
