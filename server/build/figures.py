"""Stated figures: what the sources say about a generation, the label or a call, as written.

Conflicting figures stay separate resources; nothing is summed or reconciled here.
"""

from __future__ import annotations

import re
from typing import Final

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from server.vocab import ESCP, ID, SCHEMA

from .graphs import CALL_2016, FIGURE, GENERATION_1, GENERATION_2, LABEL_ESCP4I, Graphs
from .places import Places
from .tables import (
    GEN2_FIGURES_CSV,
    GEN2_FIGURES_MAP_CSV,
    ConversionError,
    Row,
    add_provenance,
    check,
    date_literal,
    integer_literal,
)

MEASURES: Final = ("partnerships", "cluster-organisations", "countries", "clusters-per-partnership")
SCOPES: Final = {"first-generation": GENERATION_1, "escp-4i": LABEL_ESCP4I}
#: ``approximate`` of the second-generation table: (approximate, lower bound).
QUALIFIERS: Final = {"no": (False, False), "yes": (True, False), "more than": (False, True)}
#: ``stated_for`` of the mapping; empty when a figure counts more than ESCP-4i.
STATED_FOR: Final[dict[str, URIRef | None]] = {
    "generation": GENERATION_2,
    "label": LABEL_ESCP4I,
    "call": CALL_2016,
    "": None,
}
VALUE_TYPES: Final = ("integer", "year", "date")


def first_generation(graphs: Graphs, rows: list[Row]) -> None:
    """Write the first generation's stated figures (an ``id`` column names each)."""
    g = graphs("figures")
    for row in rows:
        f = FIGURE[row["id"]]
        check(row, "measure", MEASURES)
        stated_for = SCOPES[check(row, "scope", SCOPES)]
        check(row, "approximate", ("true", "false"))
        approx = row["approximate"] == "true"
        value = integer_literal(row["value"], row, "value")
        what = row["measure"].replace("-", " ")
        subset = f" {row['funding']}" if row["funding"] else ""
        text = f"{'about ' if approx else ''}{value}{subset} {what}"
        g.add((f, RDF.type, ESCP.StatedFigure))
        g.add((f, RDFS.label, Literal(f"{text} ({row['id']})", lang="en")))
        g.add((f, ESCP.measure, ID[f"measure/{row['measure']}"]))
        g.add((f, ESCP.value, value))
        g.add((f, ESCP.approximate, Literal(approx)))
        g.add((f, ESCP.statedFor, stated_for))
        if row["funding"]:
            g.add((f, ESCP.fundingType, ID[f"funding/{row['funding']}"]))
        if row["statement_date"]:
            g.add((f, DCTERMS.date, date_literal(row["statement_date"], row)))
        add_provenance(g, f, row)


def second_generation(graphs: Graphs, rows: list[Row], mapping: list[Row], places: Places) -> None:
    """Write the second generation's figures, each placed by its row in the measure mapping."""
    by_measure = {m["measure"]: m for m in mapping}
    unused = set(by_measure)
    g = graphs("figures")
    for row in rows:
        m = by_measure.get(row["measure"])
        if m is None:
            raise ConversionError(
                f"{row.where()}: measure {row['measure']!r} is not mapped "
                f"in mappings/{GEN2_FIGURES_MAP_CSV}"
            )
        unused.discard(row["measure"])
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", m["id"]):
            raise ConversionError(f"{m.where()}: id {m['id']!r} is not a kebab-case slug")
        f = FIGURE[m["id"]]
        if (f, RDF.type, ESCP.StatedFigure) in g:
            raise ConversionError(f"{m.where()}: figure id {m['id']!r} is used twice")
        approx, lower = QUALIFIERS[check(row, "approximate", QUALIFIERS)]
        value = _value(row, check(m, "value_type", VALUE_TYPES))
        qualifier = "about " if approx else "more than " if lower else ""
        g.add((f, RDF.type, ESCP.StatedFigure))
        g.add((f, RDFS.label, Literal(f"{row['measure']}: {qualifier}{row['value']}", lang="en")))
        g.add((f, ESCP.value, value))
        g.add((f, ESCP.approximate, Literal(approx)))
        if lower:
            g.add((f, ESCP.lowerBound, Literal(True)))
        if m["measure_concept"]:
            g.add((f, ESCP.measure, ID[f"measure/{check(m, 'measure_concept', MEASURES)}"]))
        stated_for = STATED_FOR[check(m, "stated_for", STATED_FOR)]
        if stated_for is not None:
            g.add((f, ESCP.statedFor, stated_for))
        if row["funding"] == "co-funded":
            g.add((f, ESCP.fundingType, ID["funding/co-funded"]))
        elif row["funding"]:
            g.add((f, ESCP.statedFunding, Literal(row["funding"], lang="en")))
        if m["unit"]:
            g.add((f, SCHEMA.unitText, Literal(m["unit"])))
        if m["market"]:
            g.add((f, ESCP.market, places.country(m["market"], m)))
        if row["date"]:
            g.add((f, DCTERMS.date, date_literal(row["date"], row)))
        g.add((f, SKOS.scopeNote, Literal(row["scope"], lang="en")))
        add_provenance(g, f, row)
    if unused:
        raise ConversionError(
            f"mappings/{GEN2_FIGURES_MAP_CSV}: measures not in {GEN2_FIGURES_CSV}: {sorted(unused)}"
        )


def stated_markets(graphs: Graphs, rows: list[Row], places: Places) -> None:
    """Write the main target markets the sources name for the first generation as a whole."""
    g = graphs("figures")
    for row in rows:
        country = places.country(row["country"], row)
        f = FIGURE[f"main-target-market-{country.rsplit('/', 1)[1]}"]
        g.add((f, RDF.type, ESCP.StatedTargetMarket))
        g.add((f, RDFS.label, Literal(f"main target market: {row['country']}", lang="en")))
        g.add((f, ESCP.market, country))
        g.add((f, ESCP.statedFor, GENERATION_1))
        add_provenance(g, f, row)


def _value(row: Row, value_type: str) -> Literal:
    text = row["value"]
    if value_type == "integer":
        return integer_literal(text, row, "value")
    if value_type == "year":
        if not re.fullmatch(r"\d{4}", text):
            raise ConversionError(f"{row.where()}: value {text!r} is not a year")
        return Literal(text, datatype=XSD.gYear)
    literal = date_literal(text, row)
    if literal.datatype != XSD.date:
        raise ConversionError(f"{row.where()}: value {text!r} is not a full date")
    return literal
