"""Countries and target markets named by the rows: resolved against the country table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from server.vocab import ESCP, EU_COUNTRY, ID, SCHEMA, WD, WDT

from .graphs import COUNTRY, REGION, Graphs
from .tables import (
    COUNTRIES_CSV,
    MARKETS_CSV,
    ConversionError,
    Row,
    add_sources,
    check,
    slugify,
    verification_urls,
)

COUNTRY_GROUPS: Final = ("EU", "COSME-associated", "EFTA", "third-country")
EU_COUNTRY_TABLE: Final = (
    "https://github.com/europarl/open-data-beta-testing/blob/"
    "6a0700279a894f28e83a9868e2ef2aa898c921ac/controlled-vocabularies/countries-skos.rdf"
)
COSME_PARTICIPANTS: Final = (
    "https://single-market-economy.ec.europa.eu/news/"
    "kosovo-joins-cosme-eu-funding-programme-smes-2017-12-19_en",
    "https://agenceurope.eu/en/bulletin/article/11566/6/bosnia-herzegovina-joins-cosme-programme",
)


@dataclass
class Places:
    """The country table and the market mapping; remembers which countries the rows use."""

    graphs: Graphs
    countries: dict[str, Row]
    markets: dict[str, Row]
    used: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, graphs: Graphs, countries: list[Row], markets: list[Row]) -> Places:
        return cls(graphs, {r["name_en"]: r for r in countries}, {r["name"]: r for r in markets})

    def country(self, name: str, row: Row) -> URIRef:
        """Return the IRI of a country named as in the country table."""
        if name not in self.countries:
            raise ConversionError(f"{row.where()}: country {name!r} is not in {COUNTRIES_CSV}")
        self.used.add(name)
        return COUNTRY[self.countries[name]["iso3166_alpha2"].lower()]

    def country_by_code(self, code: str, row: Row) -> URIRef:
        for name, crow in self.countries.items():
            if crow["iso3166_alpha2"] == code:
                return self.country(name, row)
        raise ConversionError(f"{row.where()}: no country with ISO code {code!r}")

    def market(self, name: str, row: Row) -> URIRef:
        """Return a target market: a country, or a region of the market mapping."""
        mapping = self.markets.get(name)
        if name in self.countries and mapping is None:
            return self.country(name, row)
        if mapping is None:
            raise ConversionError(
                f"{row.where()}: target market {name!r} is neither a country of "
                f"{COUNTRIES_CSV} nor mapped in {MARKETS_CSV}"
            )
        if mapping["kind"] == "country":
            return self.country_by_code(mapping["iso3166_alpha2"], row)
        g = self.graphs("markets")
        r = REGION[mapping["region_slug"]]
        g.add((r, RDF.type, ESCP.Region))
        g.add((r, RDFS.label, Literal(name, lang="en")))
        if mapping["within_iso3166_alpha2"]:
            within = self.country_by_code(mapping["within_iso3166_alpha2"], row)
            g.add((r, SCHEMA.containedInPlace, within))
        if mapping["note"]:
            g.add((r, RDFS.comment, Literal(mapping["note"], lang="en")))
        add_sources(g, r, row.sources())
        return r

    def write_countries(self) -> None:
        """Describe every country a row used, linked to Wikidata and the EU authority table."""
        g = self.graphs("countries")
        for name in sorted(self.used):
            row = self.countries[name]
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
