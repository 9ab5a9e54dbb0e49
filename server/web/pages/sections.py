"""Tables of other resources on a page: members, partnerships, clusters and backlinks."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import pyoxigraph as ox
from flask import url_for
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS, VOID

from server.store.backend import Backend
from server.vocab import graph_iri, sparql_prefixes
from server.web.state import generation_name

from .layout import INVERSE_LABELS, TABLED_INCOMING, Section, unbase
from .present import Labeller, Row, Table, TableGroup, Value, View

log = logging.getLogger(__name__)

_TERM_LABELS: Final = """
SELECT ?graph ?term ?label WHERE { GRAPH ?graph { ?term rdfs:label ?label } }
"""

_MEMBERS: Final = """
SELECT ?iri ?row ?item ?itemLabel ?acronym ?role ?roleLabel ?extra ?extraLabel ?source WHERE {
  ?row org:organization ?iri ; org:member ?item .
  OPTIONAL { ?item rdfs:label ?itemLabel }
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?row org:role ?role OPTIONAL { ?role skos:prefLabel ?roleLabel } }
  OPTIONAL { ?item escp:country ?extra OPTIONAL { ?extra rdfs:label ?extraLabel } }
  OPTIONAL { ?row dcterms:source ?source }
}
"""

_PARTNERSHIPS: Final = """
SELECT ?iri ?row ?item ?itemLabel ?acronym ?role ?roleLabel ?extra ?extraLabel ?source
       ?group ?groupLabel ?groupStart
WHERE {
  ?row org:member ?iri ; org:organization ?item .
  OPTIONAL { ?item rdfs:label ?itemLabel }
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?row org:role ?role OPTIONAL { ?role skos:prefLabel ?roleLabel } }
  OPTIONAL { ?item escp:fundingType ?extra OPTIONAL { ?extra skos:prefLabel ?extraLabel } }
  OPTIONAL { ?row dcterms:source ?source }
  OPTIONAL {
    ?item escp:generation ?group
    OPTIONAL { ?group rdfs:label ?groupLabel }
    OPTIONAL { ?group <http://schema.org/startDate> ?groupStart }
  }
}
"""

_CLUSTERS: Final = """
SELECT ?iri ?row ?item ?itemLabel ?acronym ?role ?roleLabel ?extra ?extraLabel ?source WHERE {
  ?row escp:country ?iri .
  BIND(?row AS ?item)
  OPTIONAL { ?row rdfs:label ?itemLabel }
  OPTIONAL { ?row escp:acronym ?acronym }
  OPTIONAL { ?row escp:regionOrCity ?roleLabel }
  OPTIONAL { ?row org:memberOf ?extra OPTIONAL { ?extra escp:acronym ?extraLabel } }
  OPTIONAL { ?row dcterms:source ?source }
}
"""

_BACKLINKS: Final = """
SELECT ?iri ?item ?p ?itemLabel ?acronym ?source WHERE {
  ?item ?p ?iri .
  OPTIONAL { ?item rdfs:label ?itemLabel }
  OPTIONAL { ?item escp:acronym ?acronym }
  OPTIONAL { ?item dcterms:source ?source }
}
"""

#: Incoming links shown without sources: they record structure, not a stated fact.
_STRUCTURAL: Final = frozenset(
    str(p)
    for p in (
        SKOS.inScheme,
        RDF.type,
        DCTERMS.isPartOf,
        VOID.subset,
        VOID.classPartition,
        VOID.propertyPartition,
        OWL.versionIRI,
    )
)


@dataclass
class _Gathered:
    item: str = ""
    label: str = ""
    acronym: str = ""
    role: str = ""
    role_label: str = ""
    extras: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    group: str = ""
    group_label: str = ""
    group_start: str = ""


Solution = dict[str, str]


def term_labels(backend: Backend, base: str) -> dict[str, str]:
    """Return the labels of the ontology's terms, by IRI."""
    rows = select(backend, _TERM_LABELS, "graph", graph_iri("ontology", base), base)
    return {row["term"]: row["label"] for row in rows}


def select(backend: Backend, query: str, name: str, iri: str, base: str) -> list[Solution]:
    """Run a page query with one IRI bound; return its rows as plain strings by name.

    The IRI opens the WHERE clause as a VALUES block, from which Oxigraph starts its plan.
    Given as a substitution, or written into the patterns, it did not: at 1,000 times the
    data the continuity links of one partnership took 63 ms that way, 0.7 ms with VALUES.

    >>> _bound("SELECT ?x WHERE { ?iri ?p ?x }", "iri", "https://e/a")
    'SELECT ?x WHERE { VALUES ?iri { <https://e/a> } ?iri ?p ?x }'
    """
    text = sparql_prefixes(base) + _bound(query, name, iri)
    result = backend.query(text)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("a page query must be a SELECT")
    names = [v.value for v in result.variables]
    rows = []
    for solution in result:
        row = {}
        for key in names:
            term = solution[key]
            if isinstance(term, ox.NamedNode | ox.Literal):
                row[key] = term.value
        rows.append(row)
    return rows


def _bound(query: str, name: str, iri: str) -> str:
    # NamedNode checks the IRI (no ">" or space can end the term) and writes it as <…>.
    values = f"WHERE {{ VALUES ?{name} {{ {ox.NamedNode(iri)} }}"
    if "WHERE {" not in query:
        raise ValueError("a page query opens its pattern with 'WHERE {'")
    return query.replace("WHERE {", values, 1)


def fill(page: View, backend: Backend, labeller: Labeller) -> None:
    """Fill the page's table sections and add its backlinks, grouped by link."""
    base = labeller.base
    for index, block in enumerate(page.blocks):
        if isinstance(block, Section):
            page.blocks[index] = _SECTIONS[block.name](page, backend, labeller)
    exclude = {labeller.here(p) for p in TABLED_INCOMING.get(page.kind, frozenset())}
    grouped: dict[str, dict[str, _Gathered]] = defaultdict(dict)
    for row in select(backend, _BACKLINKS, "iri", page.iri, base):
        if "item" not in row or row["p"] in exclude:  # a blank node: an RDF list of a shape
            continue
        item = grouped[row["p"]].setdefault(row["item"], _Gathered(row["item"]))
        item.label = row.get("itemLabel", item.label)
        item.acronym = row.get("acronym", item.acronym)
        if "source" in row:
            item.sources.add(row["source"])
    for predicate in sorted(grouped, key=lambda p: _inverse(p, labeller)):
        structural = unbase(predicate, base) in _STRUCTURAL
        rows = [
            Row(
                [[_item_value(g, labeller)]],
                [] if structural else page.sources.refs(g.sources),
            )
            for g in sorted(grouped[predicate].values(), key=_sort_key)
        ]
        heading = _inverse(predicate, labeller)
        caption = f"{heading}: {len(rows)}, linked by {labeller.label(predicate)}"
        table = Table(
            heading,
            caption,
            ["Name"],
            rows,
            with_sources=not structural,
            data=sparql_csv(
                "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                f"SELECT ?item ?label WHERE {{ ?item <{predicate}> <{page.iri}> "
                "OPTIONAL { ?item rdfs:label ?label } } ORDER BY LCASE(STR(?label))"
            ),
        )
        page.blocks.append(table)


def _members(page: View, backend: Backend, labeller: Labeller) -> Table:
    rows = _gather(backend, _MEMBERS, page.iri, labeller.base)
    rows.sort(key=lambda g: (not g.role.endswith("/coordinator"), _sort_key(g)))
    return Table(
        "Members",
        f"Member cluster organisations: {len(rows)}, with the sources of each membership",
        ["Cluster organisation", "Role", "Country"],
        [_row(page, g, labeller, role_link=True) for g in rows],
        data=named_csv("partnership-members", partnership=page.iri),
    )


def _partnerships(page: View, backend: Backend, labeller: Labeller) -> TableGroup:
    """A cluster's partnerships, one table per generation, the earliest first."""
    groups: dict[str, list[_Gathered]] = defaultdict(list)
    for g in _gather(backend, _PARTNERSHIPS, page.iri, labeller.base):
        groups[g.group].append(g)
    tables = []
    for key in sorted(groups, key=lambda k: (not k, groups[k][0].group_start, k)):
        rows = sorted(groups[key], key=_sort_key)
        label = rows[0].group_label or (labeller.label(key) if key else "")
        name = generation_name(label) if label else "Generation not stated"
        of = name[:1].lower() + name[1:]
        tables.append(
            Table(
                name,
                f"Partnerships of the {of} it is a member of: {len(rows)}, "
                "with the sources of each membership",
                ["Partnership", "Role", "Funding type"],
                [_row(page, g, labeller, role_link=True) for g in rows],
                data=named_csv("cluster-partnerships", cluster=page.iri, generation=key)
                if key
                else None,
            )
        )
    return TableGroup("Partnerships", tables)


def _clusters(page: View, backend: Backend, labeller: Labeller) -> Table:
    rows = sorted(_gather(backend, _CLUSTERS, page.iri, labeller.base), key=_sort_key)
    return Table(
        "Cluster organisations based here",
        f"Cluster organisations based in {page.title}: {len(rows)}, with their partnerships",
        ["Cluster organisation", "Region or city", "Partnerships"],
        [_row(page, g, labeller, role_link=False) for g in rows],
        data=named_csv("clusters", country=page.iri),
    )


def named_csv(name: str, **args: str | None) -> str:
    """The URL of a named query's rows as CSV, with the given parameters."""
    given: dict[str, Any] = {k: v for k, v in args.items() if v}
    return url_for("api.run", name=f"{name}.csv", **given)


def sparql_csv(query: str) -> str:
    """The URL of a SELECT query's rows as CSV from the SPARQL endpoint."""
    return url_for("sparql.endpoint", query=query, format="csv")


def _row(page: View, g: _Gathered, labeller: Labeller, *, role_link: bool) -> Row:
    """One table row: the item, its middle column (a linked role or plain text), the extras."""
    if role_link:
        middle = [Value(g.role_label, labeller.link(g.role))] if g.role else []
    else:
        middle = [Value(g.role_label)] if g.role_label else []
    return Row(
        [[_item_value(g, labeller)], middle, _extras(g, labeller)], page.sources.refs(g.sources)
    )


_SECTIONS: Final[dict[str, Callable[[View, Backend, Labeller], Table | TableGroup]]] = {
    "members": _members,
    "partnerships": _partnerships,
    "clusters": _clusters,
}


def _gather(backend: Backend, query: str, iri: str, base: str) -> list[_Gathered]:
    found: dict[str, _Gathered] = {}
    for row in select(backend, query, "iri", iri, base):
        g = found.setdefault(row["row"], _Gathered(row["item"]))
        g.label = row.get("itemLabel", g.label)
        g.acronym = row.get("acronym", g.acronym)
        g.role = row.get("role", g.role)
        g.role_label = row.get("roleLabel", g.role_label)
        if "extra" in row:
            g.extras[row["extra"]] = row.get("extraLabel", "")
        if "source" in row:
            g.sources.add(row["source"])
        g.group = row.get("group", g.group)
        g.group_label = row.get("groupLabel", g.group_label)
        g.group_start = row.get("groupStart", g.group_start)
    return list(found.values())


def _item_value(g: _Gathered, labeller: Labeller) -> Value:
    label = g.label or labeller.label(g.item)
    hint = g.acronym if g.acronym and g.acronym != label else None
    return Value(label, labeller.link(g.item), title=g.item, hint=hint)


def _extras(g: _Gathered, labeller: Labeller) -> list[Value]:
    values = [
        Value(label or labeller.label(iri), labeller.link(iri), title=iri)
        for iri, label in g.extras.items()
    ]
    return sorted(values, key=lambda v: v.text.casefold())


def _inverse(predicate: str, labeller: Labeller) -> str:
    key = unbase(predicate, labeller.base)
    return INVERSE_LABELS.get(key) or f"Linked as {labeller.label(predicate)}"


def _sort_key(g: _Gathered) -> str:
    return (g.label or g.item).casefold()
