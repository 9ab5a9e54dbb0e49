"""Read the sourced CSV tables: rows with their file and line, slugs, and typed fields.

Every reader stops with the file and row named when a value cannot be placed.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS, XSD

PARTNERSHIPS_CSV: Final = "escp4i-gen1-partnerships.csv"
MEMBERS_CSV: Final = "escp4i-gen1-members-partial.csv"
GEN2_PARTNERSHIPS_CSV: Final = "escp4i-gen2-partnerships.csv"
GEN2_MEMBERS_CSV: Final = "escp4i-gen2-members.csv"
SUCCESSORS_CSV: Final = "escp4i-successors.csv"
COUNTRIES_CSV: Final = "countries.csv"
FIGURES_CSV: Final = "stated-figures.csv"
GEN2_FIGURES_CSV: Final = "stated-figures-gen2.csv"
STATED_MARKETS_CSV: Final = "stated-target-markets.csv"
MARKETS_CSV: Final = "markets.csv"
#: The mapping (data/mappings/) of the second generation's free-text measures to figure IRIs.
GEN2_FIGURES_MAP_CSV: Final = "stated-figures-gen2.csv"

#: Commits of the repositories that verified the country table (countries-NOTES.md).
VERIFICATION_COMMITS: Final = {
    "rapideditor/country-coder": "c30d4314809cb8a446c3d42181cd370a1a424056",
    "opensanctions/rigour": "8f4044dd6719d71e8ba59b5033818ff407e0efab",
    "owid/owid-grapher": "c7402d12e25bd1d45f5bd7d66cfc083342a1ed96",
    "waldenn/conzept": "149bbc9633a4bc725a076517c7a379eaa7c6e6de",
}


class ConversionError(ValueError):
    """A source row that cannot be converted; the message names the file and row."""


def slugify(text: str) -> str:
    """Return a lowercase kebab-case slug, accents folded.

    >>> slugify("Mov'eo")
    'moveo'
    >>> slugify("Pôle Mer Méditerranée")
    'pole-mer-mediterranee'
    >>> slugify("micro- and nanoelectronics")
    'micro-and-nanoelectronics'
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = folded.replace("'", "").replace("&", " and ").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def cluster_slug(name: str) -> str:
    """Return the slug of a cluster organisation: its name before any gloss.

    >>> cluster_slug("InovCluster - Associacao do Cluster Agroindustrial do Centro")
    'inovcluster'
    >>> cluster_slug("Water Alliance (WaterCampus Leeuwarden)")
    'water-alliance'
    >>> cluster_slug("BalticNet-PlasmaTec e.V.")
    'balticnet-plasmatec-e-v'
    """
    return slugify(re.split(r" - | \(| / ", name, maxsplit=1)[0])


@dataclass(frozen=True)
class Row:
    """One CSV row with its file and line for error messages."""

    file: str
    line: int
    values: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return (self.values.get(key) or "").strip()

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def values_of(self, key: str) -> list[str]:
        """Split a ``;``-separated field into its values."""
        return [v.strip() for v in self[key].split(";") if v.strip()]

    def sources(self) -> list[URIRef]:
        urls = self.values_of("source_urls")
        if not urls:
            raise ConversionError(f"{self.where()}: no source_urls")
        for url in urls:
            if not re.match(r"https?://\S+$", url):
                raise ConversionError(f"{self.where()}: source {url!r} is not an http(s) URL")
        return [URIRef(u) for u in urls]


def read_rows(path: Path) -> list[Row]:
    """Read a CSV file into rows; a missing file is a conversion error."""
    if not path.is_file():
        raise ConversionError(f"{path}: source table missing")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        # Line numbers count the header as line 1, as an editor shows them.
        return [Row(path.name, reader.line_num, dict(r)) for r in reader]


@dataclass
class Sources:
    """The source tables, read once."""

    partnerships: list[Row]
    members: list[Row]
    gen2_partnerships: list[Row]
    gen2_members: list[Row]
    successors: list[Row]
    countries: list[Row]
    figures: list[Row]
    gen2_figures: list[Row]
    stated_markets: list[Row]
    markets: list[Row]
    gen2_figures_map: list[Row]

    @classmethod
    def read(cls, sources_dir: Path, mappings_dir: Path) -> Sources:
        return cls(
            partnerships=read_rows(sources_dir / PARTNERSHIPS_CSV),
            members=read_rows(sources_dir / MEMBERS_CSV),
            gen2_partnerships=read_rows(sources_dir / GEN2_PARTNERSHIPS_CSV),
            gen2_members=read_rows(sources_dir / GEN2_MEMBERS_CSV),
            successors=read_rows(sources_dir / SUCCESSORS_CSV),
            countries=read_rows(sources_dir / COUNTRIES_CSV),
            figures=read_rows(sources_dir / FIGURES_CSV),
            gen2_figures=read_rows(sources_dir / GEN2_FIGURES_CSV),
            stated_markets=read_rows(sources_dir / STATED_MARKETS_CSV),
            markets=read_rows(mappings_dir / MARKETS_CSV),
            gen2_figures_map=read_rows(mappings_dir / GEN2_FIGURES_MAP_CSV),
        )


def check(row: Row, key: str, legal: Iterable[str]) -> str:
    """Return the row's value for key, or stop if it is not one of the legal values."""
    legal = list(legal)
    if row[key] not in legal:
        raise ConversionError(f"{row.where()}: {key} {row[key]!r} is not one of {legal}")
    return row[key]


def add_sources(g: Graph, subject: URIRef, urls: Iterable[URIRef]) -> None:
    for url in urls:
        g.add((subject, DCTERMS.source, url))


def add_provenance(g: Graph, subject: URIRef, row: Row) -> None:
    """Give a resource the row's source URLs and, if the row has notes, its editorial note."""
    add_sources(g, subject, row.sources())
    if row["notes"]:
        g.add((subject, SKOS.editorialNote, Literal(row["notes"], lang="en")))


def verification_urls(row: Row) -> Iterator[URIRef]:
    """Turn ``owner/repo:path`` references into GitHub blob URLs at the recorded commit."""
    for ref in row.values_of("verification"):
        repo, _, path = ref.partition(":")
        if repo not in VERIFICATION_COMMITS or not path:
            raise ConversionError(f"{row.where()}: unknown verification source {ref!r}")
        yield URIRef(f"https://github.com/{repo}/blob/{VERIFICATION_COMMITS[repo]}/{path}")


def date_literal(text: str, row: Row) -> Literal:
    """Type a date of the tables by its precision: year, year-month or full date.

    >>> date_literal("2016-01", Row("t.csv", 2, {})).datatype == XSD.gYearMonth
    True
    """
    for pattern, datatype in (
        (r"\d{4}", XSD.gYear),
        (r"\d{4}-(0[1-9]|1[0-2])", XSD.gYearMonth),
        (r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", XSD.date),
    ):
        if re.fullmatch(pattern, text):
            return Literal(text, datatype=datatype)
    raise ConversionError(f"{row.where()}: {text!r} is not a year, year-month or date")


def integer_literal(text: str, row: Row, key: str) -> Literal:
    if not text.isdigit():
        raise ConversionError(f"{row.where()}: {key} {text!r} is not a whole number")
    return Literal(int(text), datatype=XSD.integer)


def url_ref(text: str, row: Row) -> URIRef:
    if not re.match(r"https?://\S+$", text):
        raise ConversionError(f"{row.where()}: {text!r} is not an http(s) URL")
    return URIRef(text)
