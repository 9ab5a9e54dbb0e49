"""Convert the sourced CSV tables in ``data/sources/`` into the Turtle files of ``data/``.

The converter is deterministic: the same tables give the same bytes. A value that
no source gives produces no triple, and every resource carries the source URLs of
the rows it comes from. Anything it cannot place (an unknown country, a market
with no mapping, a funding value outside the known set) stops the conversion with
the file and row named.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, RDF, RDFS, SKOS

from server.vocab import ESCP, EU_COUNTRY, ID, SCHEMA, WD, WDT, bind_families, family_namespace

from .tables import (
    COUNTRIES_CSV,
    MARKETS_CSV,
    MEMBERS_CSV,
    PARTNERSHIPS_CSV,
    ConversionError,
    Row,
    Sources,
    add_sources,
    check,
    cluster_slug,
    date_literal,
    integer_literal,
    slugify,
    url_ref,
    verification_urls,
)

log = logging.getLogger(__name__)

EU_COUNTRY_TABLE: Final = (
    "https://github.com/europarl/open-data-beta-testing/blob/"
    "6a0700279a894f28e83a9868e2ef2aa898c921ac/controlled-vocabularies/countries-skos.rdf"
)
COSME_PARTICIPANTS: Final = (
    "https://single-market-economy.ec.europa.eu/news/"
    "kosovo-joins-cosme-eu-funding-programme-smes-2017-12-19_en",
    "https://agenceurope.eu/en/bulletin/article/11566/6/bosnia-herzegovina-joins-cosme-programme",
)

#: Funding values of the partnerships table: (funding type, strand); None where unstated.
FUNDING: Final[dict[str, tuple[str | None, str | None]]] = {
    "co-funded-strand-1": ("co-funded", "1"),
    "co-funded-strand-2": ("co-funded", "2"),
    "co-funded-unknown-strand": ("co-funded", None),
    "voluntary": ("voluntary", None),
    "labelled-funding-not-stated": (None, None),
}
ROLES: Final = ("coordinator", "partner")
COUNTRY_GROUPS: Final = ("EU", "COSME-associated", "EFTA", "third-country")
MEASURES: Final = ("partnerships", "cluster-organisations", "countries", "clusters-per-partnership")
SCOPES: Final = {"first-generation": "generation", "escp-4i": "label"}

PARTNERSHIP = family_namespace("partnership")
CLUSTER = family_namespace("cluster")
MEMBERSHIP = family_namespace("membership")
COUNTRY = family_namespace("country")
REGION = family_namespace("region")
SECTOR = family_namespace("sector")
FIGURE = family_namespace("figure")
GENERATION_1: Final = family_namespace("generation")["escp-4i-1"]
LABEL_ESCP4I: Final = family_namespace("label")["escp-4i"]


@dataclass
class Converter:
    """Turn the source tables into one graph per resource family."""

    src: Sources
    graphs: dict[str, Graph] = field(default_factory=dict)
    used_countries: set[str] = field(default_factory=set)
    _countries: dict[str, Row] = field(default_factory=dict)
    _markets: dict[str, Row] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in self.src.countries:
            self._countries[row["name_en"]] = row
        for row in self.src.markets:
            self._markets[row["name"]] = row

    def graph(self, name: str) -> Graph:
        if name not in self.graphs:
            g = bind_families(Graph(bind_namespaces="none"))
            self.graphs[name] = g
        return self.graphs[name]

    def run(self) -> dict[str, Graph]:
        """Convert every table; return the graphs keyed by data file stem."""
        partnerships = {row["acronym"]: row for row in self.src.partnerships}
        if len(partnerships) != len(self.src.partnerships):
            raise ConversionError(f"{PARTNERSHIPS_CSV}: duplicate acronym")
        members = self._group_members(partnerships)
        for acronym, row in partnerships.items():
            self._partnership(row, members.get(acronym, []))
        self._clusters()
        self._figures()
        self._countries_used()
        return self.graphs

    # -- partnerships ---------------------------------------------------------------

    def _group_members(self, partnerships: dict[str, Row]) -> dict[str, list[Row]]:
        grouped: dict[str, list[Row]] = defaultdict(list)
        for row in self.src.members:
            if row["partnership_acronym"] not in partnerships:
                raise ConversionError(
                    f"{row.where()}: partnership {row['partnership_acronym']!r} "
                    f"is not in {PARTNERSHIPS_CSV}"
                )
            check(row, "role", ROLES)
            grouped[row["partnership_acronym"]].append(row)
        return grouped

    def _partnership(self, row: Row, members: list[Row]) -> None:
        g = self.graph("partnerships")
        p = PARTNERSHIP[slugify(row["acronym"])]
        g.add((p, RDF.type, ESCP.Partnership))
        g.add((p, RDFS.label, Literal(row["name"] or row["acronym"], lang="en")))
        g.add((p, ESCP.acronym, Literal(row["acronym"])))
        g.add((p, ESCP.generation, GENERATION_1))
        add_sources(g, p, row.sources())
        funding, strand = FUNDING[check(row, "funding", FUNDING)]
        if funding:
            g.add((p, ESCP.fundingType, ID[f"funding/{funding}"]))
        if strand:
            g.add((p, ESCP.strand, ID[f"strand/{strand}"]))
        for sector in row.values_of("sectors"):
            self._sector(p, sector, row)
        for market in row.values_of("target_markets"):
            g.add((p, ESCP.targetMarket, self._market(market, row)))
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
        self._memberships(p, row, members)

    def _memberships(self, p: URIRef, prow: Row, members: list[Row]) -> None:
        g = self.graph("memberships")
        coordinators = [m for m in members if m["role"] == "coordinator"]
        if len(coordinators) > 1:
            raise ConversionError(f"{prow.where()}: more than one coordinator member row")
        if prow["coordinator"] and not coordinators:
            raise ConversionError(
                f"{prow.where()}: coordinator {prow['coordinator']!r} has no member row "
                f"with role coordinator in {MEMBERS_CSV}"
            )
        for m in members:
            c = CLUSTER[cluster_slug(m["cluster_name"])]
            if m["role"] == "coordinator":
                if prow["coordinator_country"] and prow["coordinator_country"] != m["country"]:
                    raise ConversionError(
                        f"{m.where()}: coordinator country {m['country']!r} differs from "
                        f"{prow.where()} ({prow['coordinator_country']!r})"
                    )
                self.graph("partnerships").add((p, ESCP.coordinator, c))
            self.graph("partnerships").add((p, ORG.hasMember, c))
            ms = MEMBERSHIP[f"{p.rsplit('/', 1)[1]}/{cluster_slug(m['cluster_name'])}"]
            g.add((ms, RDF.type, ORG.Membership))
            g.add(
                (
                    ms,
                    RDFS.label,
                    Literal(f"{m['cluster_name']} in {prow['acronym']} ({m['role']})", lang="en"),
                )
            )
            g.add((ms, ORG.member, c))
            g.add((ms, ORG.organization, p))
            g.add((ms, ORG.role, ID[f"role/{m['role']}"]))
            add_sources(g, ms, m.sources())
            if m["notes"]:
                g.add((ms, SKOS.editorialNote, Literal(m["notes"], lang="en")))

    # -- clusters ---------------------------------------------------------------------

    def _clusters(self) -> None:
        """Write one resource per cluster organisation, merging rows that name it twice."""
        g = self.graph("clusters")
        by_slug: dict[str, list[Row]] = defaultdict(list)
        for m in self.src.members:
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
                g.add((c, ESCP.country, self._country(first["country"], rows[0])))
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

    # -- vocabularies used by rows -------------------------------------------------------

    def _sector(self, p: URIRef, label: str, row: Row) -> None:
        g = self.graph("sectors")
        s = SECTOR[slugify(label)]
        g.add((s, RDF.type, SKOS.Concept))
        g.add((s, RDFS.label, Literal(label, lang="en")))
        g.add((s, SKOS.prefLabel, Literal(label, lang="en")))
        g.add((s, SKOS.inScheme, ID["sector"]))
        add_sources(g, s, row.sources())
        self.graph("partnerships").add((p, ESCP.sector, s))

    def _market(self, name: str, row: Row) -> URIRef:
        mapping = self._markets.get(name)
        if name in self._countries and mapping is None:
            return self._country(name, row)
        if mapping is None:
            raise ConversionError(
                f"{row.where()}: target market {name!r} is neither a country of "
                f"{COUNTRIES_CSV} nor mapped in {MARKETS_CSV}"
            )
        if mapping["kind"] == "country":
            return self._country_by_code(mapping["iso3166_alpha2"], row)
        g = self.graph("markets")
        r = REGION[mapping["region_slug"]]
        g.add((r, RDF.type, ESCP.Region))
        g.add((r, RDFS.label, Literal(name, lang="en")))
        if mapping["within_iso3166_alpha2"]:
            within = self._country_by_code(mapping["within_iso3166_alpha2"], row)
            g.add((r, SCHEMA.containedInPlace, within))
        if mapping["note"]:
            g.add((r, RDFS.comment, Literal(mapping["note"], lang="en")))
        add_sources(g, r, row.sources())
        return r

    def _country(self, name: str, row: Row) -> URIRef:
        if name not in self._countries:
            raise ConversionError(f"{row.where()}: country {name!r} is not in {COUNTRIES_CSV}")
        iri = COUNTRY[self._countries[name]["iso3166_alpha2"].lower()]
        self.used_countries.add(name)
        return iri

    def _country_by_code(self, code: str, row: Row) -> URIRef:
        for name, crow in self._countries.items():
            if crow["iso3166_alpha2"] == code:
                return self._country(name, row)
        raise ConversionError(f"{row.where()}: no country with ISO code {code!r}")

    def _countries_used(self) -> None:
        g = self.graph("countries")
        for name in sorted(self.used_countries):
            row = self._countries[name]
            qid = row["wikidata_qid"]
            if not re.fullmatch(r"Q[0-9]+", qid):
                raise ConversionError(f"{row.where()}: bad Wikidata QID {qid!r}")
            check(row, "group", COUNTRY_GROUPS)
            c = COUNTRY[row["iso3166_alpha2"].lower()]
            g.add((c, RDF.type, ESCP.Country))
            g.add((c, RDFS.label, Literal(name, lang="en")))
            g.add((c, OWL.sameAs, WD[qid]))
            g.add((c, WDT.P297, Literal(row["iso3166_alpha2"])))
            g.add((c, WDT.P298, Literal(row["iso3166_alpha3"])))
            g.add((c, SKOS.exactMatch, EU_COUNTRY[row["eu_authority_code"]]))
            g.add((c, ESCP.countryGroup, ID[f"country-group/{slugify(row['group'])}"]))
            for source in verification_urls(row):
                g.add((c, DCTERMS.source, source))
            g.add((c, DCTERMS.source, URIRef(EU_COUNTRY_TABLE)))
            if row["group"] in ("COSME-associated", "EFTA"):
                for url in COSME_PARTICIPANTS:
                    g.add((c, DCTERMS.source, URIRef(url)))
            if row["notes"]:
                g.add((c, SKOS.editorialNote, Literal(row["notes"], lang="en")))

    # -- stated figures ---------------------------------------------------------------

    def _figures(self) -> None:
        g = self.graph("figures")
        for row in self.src.figures:
            f = FIGURE[row["id"]]
            check(row, "measure", MEASURES)
            scope = check(row, "scope", SCOPES)
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
            stated_for = GENERATION_1 if scope == "first-generation" else LABEL_ESCP4I
            g.add((f, ESCP.statedFor, stated_for))
            if row["funding"]:
                g.add((f, ESCP.fundingType, ID[f"funding/{row['funding']}"]))
            if row["statement_date"]:
                g.add((f, DCTERMS.date, date_literal(row["statement_date"], row)))
            add_sources(g, f, row.sources())
            if row["notes"]:
                g.add((f, SKOS.editorialNote, Literal(row["notes"], lang="en")))
        for row in self.src.stated_markets:
            country = self._country(row["country"], row)
            f = FIGURE[f"main-target-market-{country.rsplit('/', 1)[1]}"]
            g.add((f, RDF.type, ESCP.StatedTargetMarket))
            g.add((f, RDFS.label, Literal(f"main target market: {row['country']}", lang="en")))
            g.add((f, ESCP.market, country))
            g.add((f, ESCP.statedFor, GENERATION_1))
            add_sources(g, f, row.sources())
            if row["notes"]:
                g.add((f, SKOS.editorialNote, Literal(row["notes"], lang="en")))


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
