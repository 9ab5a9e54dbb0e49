"""SHACL shapes proven both ways, the ontology checked against the data, Turtle layout."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS
from rdflib.term import Node

ROOT = Path(__file__).parents[1]
DATA_FILES = sorted((ROOT / "data").glob("*.ttl"))
ONTOLOGY_FILE = ROOT / "ontology" / "escp4i.ttl"
SHAPES_FILE = ROOT / "shapes" / "escp4i.ttl"
FIXTURE_FILES = sorted((ROOT / "tests" / "shapes").glob("*.ttl"))
TURTLE_FILES = sorted(
    [*(ROOT / "ontology").glob("*.ttl"), *(ROOT / "shapes").glob("*.ttl"), *DATA_FILES]
)

ESCP = Namespace("https://w3id.org/escp4i/def#")
ONTOLOGY_IRI = URIRef("https://w3id.org/escp4i/def")
TERM_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty}

#: Constraint parameters used in the shapes, each with the component it reports.
#: A parameter missing here fails test_every_shape_constraint_has_a_fixture, so the
#: table grows with the shapes.
COMPONENTS = {
    SH["class"]: SH.ClassConstraintComponent,
    SH.closed: SH.ClosedConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.equals: SH.EqualsConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH.minCount: SH.MinCountConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.sparql: SH.SPARQLConstraintComponent,
    SH.uniqueLang: SH.UniqueLangConstraintComponent,
}
#: Parameters of a shape that are not constraints.
NOT_CONSTRAINTS = {SH.path, SH.message, SH.property, SH.targetClass, SH.ignoredProperties}

Expectation = tuple[Node, Node, Node]


def test_data_files_together_conform() -> None:
    conforms, _, text = _validate(_data())
    assert conforms, text


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_negative_fixture_reports_expected_violation(path: Path) -> None:
    conforms, expected, actual = _fixture_outcome(path)
    assert expected, f"{path.name} states no expected sh:result"
    assert not conforms
    missing = expected - actual
    assert not missing, f"expected but not reported: {sorted(missing)}; reported: {sorted(actual)}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_negative_fixture_reports_no_unexpected_violation(path: Path) -> None:
    _, expected, actual = _fixture_outcome(path)
    unexpected = actual - expected
    assert not unexpected, (
        f"{path.name} is broken in more ways than it states: {sorted(unexpected)}"
    )


def test_every_property_shape_has_a_fixture() -> None:
    shapes = _shapes()
    property_shapes = set(shapes.objects(None, SH.property)) | {
        s for s in shapes.subjects(SH.sparql, None) if isinstance(s, URIRef)
    }
    covered = {shape for _, shape, _ in _all_expectations()}
    assert property_shapes, "no property shapes found"
    assert not property_shapes - covered, sorted(property_shapes - covered)


def test_every_shape_constraint_has_a_fixture() -> None:
    shapes = _shapes()
    declared = set()
    for shape in _named_shapes(shapes):
        for parameter in set(shapes.predicates(shape, None)) - NOT_CONSTRAINTS:
            if not str(parameter).startswith(str(SH)):
                continue
            assert parameter in COMPONENTS, f"{shape} uses {parameter}, unknown to COMPONENTS"
            declared.add((shape, COMPONENTS[parameter]))
    covered = {(shape, component) for _, shape, component in _all_expectations()}
    assert not declared - covered, sorted(declared - covered)


def test_every_fixture_names_a_shape_that_exists() -> None:
    named = set(_named_shapes(_shapes()))
    stale = {shape for _, shape, _ in _all_expectations()} - named
    assert not stale, sorted(stale)


def test_property_shapes_are_iris_named_after_their_node_shape() -> None:
    shapes = _shapes()
    for node_shape, property_shape in shapes.subject_objects(SH.property):
        assert isinstance(node_shape, URIRef) and str(node_shape).endswith("Shape")
        assert isinstance(property_shape, URIRef), f"blank property shape on {node_shape}"
        assert str(property_shape).startswith(f"{node_shape}-"), property_shape


def test_every_constraint_has_a_message() -> None:
    shapes = _shapes()
    holders = {s for p in set(COMPONENTS) - {SH.sparql} for s in shapes.subjects(p, None)} | set(
        shapes.objects(None, SH.sparql)
    )
    silent = {h for h in holders if not _english(shapes.objects(h, SH.message))}
    assert holders
    assert not silent, sorted(silent)


def test_every_escp_term_used_in_data_is_defined_in_ontology() -> None:
    ontology = _ontology()
    undefined = {
        term
        for term in _escp_terms(_data())
        if not set(ontology.objects(term, RDF.type)) & TERM_TYPES
    }
    assert not undefined, sorted(undefined)


def test_ontology_defines_no_term_the_data_does_not_use() -> None:
    defined = {t for t in _ontology().subjects() if str(t).startswith(str(ESCP))}
    assert not defined - _escp_terms(_data()), sorted(defined - _escp_terms(_data()))


def test_escp_terms_are_typed_as_the_data_uses_them() -> None:
    ontology = _ontology()
    wrong = set()
    for _, p, o in _data():
        if p == RDF.type and str(o).startswith(str(ESCP)):
            if (o, RDF.type, OWL.Class) not in ontology:
                wrong.add((o, "class"))
        elif str(p).startswith(str(ESCP)):
            kind = OWL.DatatypeProperty if isinstance(o, Literal) else OWL.ObjectProperty
            if (p, RDF.type, kind) not in ontology:
                wrong.add((p, kind.fragment))
    assert not wrong, sorted(wrong)


def test_every_ontology_term_has_label_comment_definition() -> None:
    ontology = _ontology()
    terms = {t for t in ontology.subjects(RDF.type, None) if str(t).startswith(str(ESCP))}
    lacking = set()
    for term in terms:
        for predicate in (RDFS.label, RDFS.comment, SKOS.definition):
            if not _english(ontology.objects(term, predicate)):
                lacking.add((term, predicate))
        if (term, RDFS.isDefinedBy, ONTOLOGY_IRI) not in ontology:
            lacking.add((term, RDFS.isDefinedBy))
    assert terms
    assert not lacking, sorted(lacking)


@pytest.mark.parametrize("path", TURTLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_turtle_round_trips_unchanged(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    graph = Graph(bind_namespaces="none").parse(data=text, format="turtle")
    assert graph.serialize(format="longturtle") == text


def _validate(data: Graph) -> tuple[bool, Graph, str]:
    conforms, report, text = validate(
        data,
        shacl_graph=_shapes(),
        ont_graph=_ontology(),
        inference="none",
        advanced=True,
    )
    return bool(conforms), report, text


@cache
def _fixture_outcome(path: Path) -> tuple[bool, frozenset[Expectation], frozenset[Expectation]]:
    """Validate a fixture's data; return conforms, the expected and the reported results."""
    data, expected = _split_fixture(path)
    conforms, report, _ = _validate(data)
    actual = {
        _key(report, result)
        for node in report.subjects(RDF.type, SH.ValidationReport)
        for result in report.objects(node, SH.result)
    }
    return conforms, expected, frozenset(actual)


@cache
def _split_fixture(path: Path) -> tuple[Graph, frozenset[Expectation]]:
    """Split a fixture into its data and its expectation.

    The expectation is the sh:ValidationReport node and every triple reachable from it
    through blank nodes; everything else is data.
    """
    graph = Graph(bind_namespaces="none").parse(path, format="turtle")
    reports = list(graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1, f"{path.name} needs exactly one sh:ValidationReport"
    expectation = Graph()
    todo: list[Node] = [reports[0]]
    while todo:
        node = todo.pop()
        for triple in graph.triples((node, None, None)):
            expectation.add(triple)
            if isinstance(triple[2], BNode):
                todo.append(triple[2])
    report = reports[0]
    assert (report, SH.conforms, Literal(False)) in expectation, path.name
    expected = frozenset(_key(expectation, r) for r in expectation.objects(report, SH.result))
    data = Graph(bind_namespaces="none")
    for triple in graph - expectation:
        data.add(triple)
    return data, expected


def _key(graph: Graph, result: Node) -> Expectation:
    focus = graph.value(result, SH.focusNode)
    shape = graph.value(result, SH.sourceShape)
    component = graph.value(result, SH.sourceConstraintComponent)
    assert focus is not None and shape is not None and component is not None, result
    return focus, shape, component


def _all_expectations() -> Iterator[Expectation]:
    for path in FIXTURE_FILES:
        yield from _split_fixture(path)[1]


def _named_shapes(shapes: Graph) -> Iterator[URIRef]:
    """Yield the shapes that reports can name: node shapes with a target, property shapes."""
    for shape in set(shapes.subjects(SH.targetClass, None)) | set(shapes.subjects(SH.path, None)):
        if isinstance(shape, URIRef):
            yield shape


def _escp_terms(graph: Graph) -> set[URIRef]:
    return {
        term
        for triple in graph
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(str(ESCP))
    }


def _english(values: Iterator[Node]) -> bool:
    return any(isinstance(v, Literal) and v.language == "en" for v in values)


@cache
def _data() -> Graph:
    graph = Graph(bind_namespaces="none")
    for path in DATA_FILES:
        graph.parse(path, format="turtle")
    return graph


@cache
def _shapes() -> Graph:
    return Graph(bind_namespaces="none").parse(SHAPES_FILE, format="turtle")


@cache
def _ontology() -> Graph:
    return Graph(bind_namespaces="none").parse(ONTOLOGY_FILE, format="turtle")
