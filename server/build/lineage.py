"""Continuity links: which first-generation partnership continued as which second-generation one.

Each link is a resource of its own, like a membership, carrying its strength and sources;
``escp:continuedAs`` and ``escp:continues`` state it directly between the two partnerships.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS

from server.vocab import ESCP, ID

from .graphs import CONTINUITY, Graphs
from .tables import (
    GEN2_PARTNERSHIPS_CSV,
    PARTNERSHIPS_CSV,
    ConversionError,
    Row,
    add_provenance,
    check,
)

RELATIONS: Final = ("continued-as",)
STRENGTHS: Final = ("explicit", "moderate")


def continuity_links(
    graphs: Graphs, rows: list[Row], first: Mapping[str, URIRef], second: Mapping[str, URIRef]
) -> None:
    """Write one link per row of the successors table, naming partnerships by acronym."""
    g = graphs("continuity")
    seen: set[tuple[str, str]] = set()
    for row in rows:
        check(row, "relation", RELATIONS)
        strength = check(row, "strength", STRENGTHS)
        before = _partnership(row, "gen1_acronym", first, PARTNERSHIPS_CSV)
        after = _partnership(row, "gen2_acronym", second, GEN2_PARTNERSHIPS_CSV)
        pair = (row["gen1_acronym"], row["gen2_acronym"])
        if pair in seen:
            raise ConversionError(f"{row.where()}: link {pair[0]} → {pair[1]} is listed twice")
        seen.add(pair)
        link = CONTINUITY[f"{_slug(before)}-to-{_slug(after)}"]
        g.add((link, RDF.type, ESCP.ContinuityLink))
        label = f"{row['gen1_acronym']} continued as {row['gen2_acronym']} ({strength})"
        g.add((link, RDFS.label, Literal(label, lang="en")))
        g.add((link, ESCP.fromPartnership, before))
        g.add((link, ESCP.toPartnership, after))
        g.add((link, ESCP.linkStrength, ID[f"link-strength/{strength}"]))
        add_provenance(g, link, row)
        partnerships = graphs("partnerships")
        partnerships.add((before, ESCP.continuedAs, after))
        partnerships.add((after, ESCP.continues, before))


def _partnership(row: Row, key: str, known: Mapping[str, URIRef], table: str) -> URIRef:
    if row[key] not in known:
        raise ConversionError(f"{row.where()}: {key} {row[key]!r} is not a row of {table}")
    return known[row[key]]


def _slug(iri: URIRef) -> str:
    return iri.rsplit("/", 1)[1]
