"""Convert the sourced CSV tables in ``data/sources/`` into the Turtle files of ``data/``.

The converter is deterministic: the same tables give the same bytes. A value that
no source gives produces no triple, and every resource carries the source URLs of
the rows it comes from. Anything it cannot place (an unknown country, a market
with no mapping, a funding value outside the known set, two partnerships with one
slug) stops the conversion with the file and row named.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, ORG, RDF, RDFS, SKOS

from server.vocab import ESCP, ID, SCHEMA

from . import figures, lineage
from .graphs import (
    CALL_2016,
    CLUSTER,
    GENERATION_1,
    GENERATION_2,
    MEMBERSHIP,
    PARTNERSHIP,
    SECTOR,
    Graphs,
)
from .places import Places
from .tables import (
    GEN2_MEMBERS_CSV,
    GEN2_PARTNERSHIPS_CSV,
    MEMBERS_CSV,
    PARTNERSHIPS_CSV,
    ConversionError,
    Row,
    Sources,
    add_provenance,
    add_sources,
    check,
    cluster_slug,
    date_literal,
    integer_literal,
    slugify,
    url_ref,
)

log = logging.getLogger(__name__)

#: Funding values of the first-generation table: (funding type, strand); None where unstated.
FUNDING: Final[dict[str, tuple[str | None, str | None]]] = {
    "co-funded-strand-1": ("co-funded", "1"),
    "co-funded-strand-2": ("co-funded", "2"),
    "co-funded-unknown-strand": ("co-funded", None),
    "voluntary": ("voluntary", None),
    "labelled-funding-not-stated": (None, None),
}
EVIDENCE: Final = ("confirmed", "labelled-funding-not-stated", "probable")
#: Strands of the second-generation table as stated (``1`` where the sub-strand is not).
GEN2_STRANDS: Final = ("", "1", "1a", "1b", "2")
GEN2_CALLS: Final = {"": None, "COS-CLUSINT-2016-03-01": CALL_2016}
ROLES: Final = ("coordinator", "partner")


@dataclass(frozen=True)
class Generation:
    """One generation's tables and the IRI every partnership row of it links to."""

    iri: URIRef
    partnerships_csv: str
    members_csv: str
    partnerships: list[Row]
    members: list[Row]


@dataclass
class Converter:
    """Turn the source tables into one graph per resource family."""

    src: Sources
    graphs: Graphs = field(default_factory=Graphs)

    def __post_init__(self) -> None:
        self.places = Places.of(self.graphs, self.src.countries, self.src.markets)
        self.generations = (
            Generation(
                GENERATION_1, PARTNERSHIPS_CSV, MEMBERS_CSV, self.src.partnerships, self.src.members
            ),
            Generation(
                GENERATION_2,
                GEN2_PARTNERSHIPS_CSV,
                GEN2_MEMBERS_CSV,
                self.src.gen2_partnerships,
                self.src.gen2_members,
            ),
        )

    def run(self) -> dict[str, Graph]:
        """Convert every table; return the graphs keyed by data file stem."""
        slugs = self._check_slugs()
        by_acronym: list[dict[str, URIRef]] = []
        for gen in self.generations:
            members = self._group_members(gen)
            for row in gen.partnerships:
                self._partnership(gen, row, members.get(row["acronym"], []))
            by_acronym.append(
                {r["acronym"]: PARTNERSHIP[slugs[r.where()]] for r in gen.partnerships}
            )
        self._clusters()
        lineage.continuity_links(self.graphs, self.src.successors, by_acronym[0], by_acronym[1])
        figures.first_generation(self.graphs, self.src.figures)
        figures.second_generation(
            self.graphs, self.src.gen2_figures, self.src.gen2_figures_map, self.places
        )
        figures.stated_markets(self.graphs, self.src.stated_markets, self.places)
        self.places.write_countries()
        return self.graphs.by_name

    # -- partnerships ---------------------------------------------------------------

    def _check_slugs(self) -> dict[str, str]:
        """Return each partnership row's slug; two rows of any generation may not share one."""
        first: dict[str, Row] = {}
        slugs = {}
        for gen in self.generations:
            for row in gen.partnerships:
                slug = slugify(row["acronym"])
                if not slug:
                    raise ConversionError(f"{row.where()}: acronym {row['acronym']!r} has no slug")
                if slug in first:
                    raise ConversionError(
                        f"{row.where()}: partnership {row['acronym']!r} has the slug {slug!r} of "
                        f"{first[slug]['acronym']!r} at {first[slug].where()}"
                    )
                first[slug] = row
                slugs[row.where()] = slug
        return slugs

    def _group_members(self, gen: Generation) -> dict[str, list[Row]]:
        acronyms = {row["acronym"] for row in gen.partnerships}
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in gen.members:
            if row["partnership_acronym"] not in acronyms:
                raise ConversionError(
                    f"{row.where()}: partnership {row['partnership_acronym']!r} "
                    f"is not in {gen.partnerships_csv}"
                )
            check(row, "role", ROLES)
            grouped[row["partnership_acronym"]].append(row)
        return grouped

    def _partnership(self, gen: Generation, row: Row, members: list[Row]) -> None:
        g = self.graphs("partnerships")
        p = PARTNERSHIP[slugify(row["acronym"])]
        g.add((p, RDF.type, ESCP.Partnership))
        g.add((p, RDFS.label, Literal(row["name"] or row["acronym"], lang="en")))
        g.add((p, ESCP.acronym, Literal(row["acronym"])))
        g.add((p, ESCP.generation, gen.iri))
        g.add((p, ESCP.evidence, ID[f"evidence/{check(row, 'evidence', EVIDENCE)}"]))
        add_sources(g, p, row.sources())
        if gen.iri == GENERATION_1:
            funding, strand = FUNDING[check(row, "funding", FUNDING)]
        else:
            # The second table has no funding column: its rows state a strand or a call only.
            funding, strand = None, check(row, "strand", GEN2_STRANDS) or None
            call = GEN2_CALLS[check(row, "call", GEN2_CALLS)]
            if call is not None:
                g.add((p, ESCP.call, call))
        if funding:
            g.add((p, ESCP.fundingType, ID[f"funding/{funding}"]))
        if strand:
            g.add((p, ESCP.strand, ID[f"strand/{strand}"]))
        for sector in row.values_of("sectors"):
            self._sector(p, sector, row)
        for market in row.values_of("target_markets"):
            g.add((p, ESCP.targetMarket, self.places.market(market, row)))
        for key, prop in (("start", SCHEMA.startDate), ("end", SCHEMA.endDate)):
            if row[key]:
                g.add((p, prop, date_literal(row[key], row)))
        for key, prop in (
            ("duration_months", ESCP.durationMonths),
            ("n_partners", ESCP.statedPartnerCount),
            ("n_smes", ESCP.statedSmeCount),
        ):
            if row[key]:
                g.add((p, prop, integer_literal(row[key], row, key)))
        if row["grant_agreement"]:
            g.add((p, ESCP.grantAgreement, Literal(row["grant_agreement"])))
        if row["website"]:
            g.add((p, FOAF.homepage, url_ref(row["website"], row)))
        if row["eccp_profile"]:
            g.add((p, ESCP.eccpProfile, url_ref(row["eccp_profile"], row)))
        if row["notes"]:
            g.add((p, SKOS.editorialNote, Literal(row["notes"], lang="en")))
        self._memberships(gen, p, row, members)

    def _memberships(self, gen: Generation, p: URIRef, prow: Row, members: list[Row]) -> None:
        g = self.graphs("memberships")
        coordinators = [m for m in members if m["role"] == "coordinator"]
        if len(coordinators) > 1:
            raise ConversionError(f"{prow.where()}: more than one coordinator member row")
        if prow["coordinator"] and not coordinators:
            raise ConversionError(
                f"{prow.where()}: coordinator {prow['coordinator']!r} has no member row "
                f"with role coordinator in {gen.members_csv}"
            )
        for m in members:
            c = CLUSTER[cluster_slug(m["cluster_name"])]
            if m["role"] == "coordinator":
                if prow["coordinator_country"] and prow["coordinator_country"] != m["country"]:
                    raise ConversionError(
                        f"{m.where()}: coordinator country {m['country']!r} differs from "
                        f"{prow.where()} ({prow['coordinator_country']!r})"
                    )
                self.graphs("partnerships").add((p, ESCP.coordinator, c))
            self.graphs("partnerships").add((p, ORG.hasMember, c))
            ms = MEMBERSHIP[f"{p.rsplit('/', 1)[1]}/{cluster_slug(m['cluster_name'])}"]
            if (ms, RDF.type, ORG.Membership) in g:
                raise ConversionError(f"{m.where()}: {m['cluster_name']!r} is listed twice")
            g.add((ms, RDF.type, ORG.Membership))
            label = f"{m['cluster_name']} in {prow['acronym']} ({m['role']})"
            g.add((ms, RDFS.label, Literal(label, lang="en")))
            g.add((ms, ORG.member, c))
            g.add((ms, ORG.organization, p))
            g.add((ms, ORG.role, ID[f"role/{m['role']}"]))
            add_provenance(g, ms, m)

    # -- clusters ---------------------------------------------------------------------

    def _clusters(self) -> None:
        """Write one resource per cluster organisation, merging rows of both generations."""
        g = self.graphs("clusters")
        by_slug: dict[str, list[Row]] = defaultdict(list)
        for m in self.src.members + self.src.gen2_members:
            by_slug[cluster_slug(m["cluster_name"])].append(m)
        for slug, rows in by_slug.items():
            c = CLUSTER[slug]
            g.add((c, RDF.type, ESCP.ClusterOrganisation))
            for key in ("cluster_name", "cluster_acronym", "country", "region_or_city", "website"):
                values = {r[key] for r in rows if r[key]}
                if len(values) > 1:
                    where = ", ".join(r.where() for r in rows)
                    raise ConversionError(
                        f"{where}: cluster {slug!r} has conflicting {key}: {values}"
                    )
            first = {k: next((r[k] for r in rows if r[k]), "") for k in rows[0].values}
            g.add((c, RDFS.label, Literal(first["cluster_name"], lang="en")))
            if first["cluster_acronym"]:
                g.add((c, ESCP.acronym, Literal(first["cluster_acronym"])))
            if first["country"]:
                g.add((c, ESCP.country, self.places.country(first["country"], rows[0])))
            if first["region_or_city"]:
                g.add((c, ESCP.regionOrCity, Literal(first["region_or_city"], lang="en")))
            if first["website"]:
                g.add((c, FOAF.homepage, url_ref(first["website"], rows[0])))
            for r in rows:
                if r["eccp_profile"]:
                    g.add((c, ESCP.eccpProfile, url_ref(r["eccp_profile"], r)))
                add_sources(g, c, r.sources())
                partnership = PARTNERSHIP[slugify(r["partnership_acronym"])]
                g.add((c, ORG.memberOf, partnership))

    def _sector(self, p: URIRef, label: str, row: Row) -> None:
        g = self.graphs("sectors")
        s = SECTOR[slugify(label)]
        g.add((s, RDF.type, SKOS.Concept))
        g.add((s, RDFS.label, Literal(label, lang="en")))
        g.add((s, SKOS.prefLabel, Literal(label, lang="en")))
        g.add((s, SKOS.inScheme, ID["sector"]))
        add_sources(g, s, row.sources())
        self.graphs("partnerships").add((p, ESCP.sector, s))


def convert(sources_dir: Path, mappings_dir: Path) -> dict[str, str]:
    """Convert the tables; return Turtle text keyed by output file name."""
    graphs = Converter(Sources.read(sources_dir, mappings_dir)).run()
    out = {}
    for name, g in sorted(graphs.items()):
        out[f"{name}.ttl"] = g.serialize(format="longturtle")
        log.info("converted %s: %d triples", name, len(g))
    return out


def write(data_dir: Path) -> list[Path]:
    """Convert ``data_dir/sources`` and write the Turtle files into ``data_dir``."""
    written = []
    for name, text in convert(data_dir / "sources", data_dir / "mappings").items():
        path = data_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
