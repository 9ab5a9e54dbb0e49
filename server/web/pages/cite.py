"""Citing the release (blueprint `cite`): plain text, BibTeX, RIS and CSL-JSON, and the JSON-LD.

Every citation names the release version, its build date, its licence and the dataset IRI,
as the meta graph of the served release states them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from flask import Blueprint, Response, g, render_template
from markupsafe import Markup

from server.errors import NotFoundError
from server.web.freshness import CACHE_CONTROL
from server.web.state import get_state, per_release

from . import jsonld
from .jsonld import DatasetFacts

log = logging.getLogger(__name__)

bp = Blueprint("cite", __name__)


@dataclass(frozen=True)
class Format:
    """One citation format: its file suffix, name, media type and writer."""

    suffix: str
    name: str
    media_type: str
    write: Callable[[DatasetFacts], str]


def plain_text(facts: DatasetFacts) -> str:
    """Write an APA-like reference: creator, date, title, version, licence, IRI.

    >>> print(plain_text(_EXAMPLE))
    The project. (2026, December 1). A title (Version 1.0+ab) [Data set]. Licence: https://l/. https://x/dataset
    """  # noqa: E501
    day = _day(facts)
    when = f"{day.year}, {day:%B} {day.day}" if day else "n.d."
    author = f"{facts.creator}. " if facts.creator else ""
    licence = f" Licence: {facts.licence}." if facts.licence else ""
    return (
        f"{author}({when}). {facts.title} (Version {facts.release}) [Data set].{licence} "
        f"{facts.iri}"
    )


def bibtex(facts: DatasetFacts) -> str:
    r"""Write a BibTeX ``@misc`` entry, with the biblatex fields ``date`` and ``version``.

    >>> print(bibtex(_EXAMPLE), end="")
    @misc{escp4i-1-0-ab,
      author = {{The project}},
      title = {{A title}},
      year = {2026},
      date = {2026-12-01},
      version = {1.0+ab},
      url = {https://x/dataset},
      howpublished = {\url{https://x/dataset}},
      note = {Data set, release 1.0+ab. Licence: \url{https://l/}},
    }
    """
    fields = [
        ("author", "{" + _bib(facts.creator) + "}" if facts.creator else ""),
        ("title", "{" + _bib(facts.title) + "}"),
        ("year", facts.date[:4]),
        ("date", facts.date),
        ("version", _bib(facts.release)),
        ("url", facts.iri),
        ("howpublished", f"\\url{{{facts.iri}}}"),
        ("note", f"Data set, release {_bib(facts.release)}. Licence: \\url{{{facts.licence}}}"),
    ]
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields if value)
    return f"@misc{{{cite_key(facts)},\n{body}}}\n"


def ris(facts: DatasetFacts) -> str:
    """Write a RIS record of type ``DATA``.

    >>> print(ris(_EXAMPLE))  # doctest: +NORMALIZE_WHITESPACE
    TY  - DATA
    AU  - The project
    TI  - A title
    PY  - 2026
    DA  - 2026/12/01
    ET  - 1.0+ab
    UR  - https://x/dataset
    N1  - Release 1.0+ab. Licence: https://l/
    ER  -
    """
    day = facts.date.replace("-", "/")
    lines = [
        ("TY", "DATA"),
        ("AU", facts.creator),
        ("TI", facts.title),
        ("PY", facts.date[:4]),
        ("DA", day),
        ("ET", facts.release),
        ("UR", facts.iri),
        ("AB", facts.description),
        ("N1", f"Release {facts.release}. Licence: {facts.licence}"),
    ]
    # One line per tag: RIS has no continuation lines.
    return "".join(f"{tag}  - {_one_line(v)}\r\n" for tag, v in lines if v) + "ER  - \r\n"


def csl_json(facts: DatasetFacts) -> str:
    """Write a CSL-JSON item list (what Zotero, Pandoc and citeproc read).

    >>> item = json.loads(csl_json(_EXAMPLE))[0]
    >>> item["type"], item["issued"], item["version"]
    ('dataset', {'date-parts': [[2026, 12, 1]]}, '1.0+ab')
    """
    day = _day(facts)
    item: dict[str, Any] = {
        "id": cite_key(facts),
        "type": "dataset",
        "title": facts.title,
        "version": facts.release,
        "URL": facts.iri,
        "note": f"Release {facts.release}. Licence: {facts.licence}",
        # CSL has no licence variable; "custom" keeps it as a key of its own.
        "custom": {"license": facts.licence, "release": facts.release},
    }
    if facts.creator:
        item["author"] = [{"literal": facts.creator}]
    if day:
        item["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    if facts.description:
        item["abstract"] = facts.description
    return json.dumps([item], indent=2, ensure_ascii=False) + "\n"


def cite_key(facts: DatasetFacts) -> str:
    """Return a citation key made of the release, safe in BibTeX and CSL.

    >>> cite_key(_EXAMPLE)
    'escp4i-1-0-ab'
    """
    return "escp4i-" + re.sub(r"[^A-Za-z0-9]+", "-", facts.release).strip("-")


FORMATS: Final = (
    Format("txt", "Plain text (APA style)", "text/plain", plain_text),
    Format("bib", "BibTeX", "application/x-bibtex", bibtex),
    Format("ris", "RIS", "application/x-research-info-systems", ris),
    Format("json", "CSL-JSON", "application/vnd.citationstyles.csl+json", csl_json),
)
_BY_SUFFIX: Final = {f.suffix: f for f in FORMATS}
#: About how many characters a line of a citation box holds (its width comes from the style
#: sheet; its ``cols`` attribute is narrow so that it fits a phone without one).
_COLUMNS: Final = 80


@bp.get("/cite")
def page() -> str:
    """Show how to cite the release, in every format, with a download of each."""
    facts = _facts()
    citations = [(f, text, _rows(text)) for f in FORMATS for text in (f.write(facts),)]
    return render_template("cite.html", facts=facts, citations=citations, file_stem=cite_key(facts))


@bp.get("/cite.<any(txt, bib, ris, json):suffix>")
def download(suffix: str) -> Response:
    """Send the citation of the release in one format."""
    fmt = _BY_SUFFIX[suffix]
    text = fmt.write(_facts())
    response = Response(text, mimetype=fmt.media_type)
    response.headers["Content-Type"] = f"{fmt.media_type}; charset=utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.app_context_processor
def _jsonld_globals() -> dict[str, Any]:
    # Functions, not values: a template that shows no JSON-LD costs no query.
    return {
        "dataset_jsonld": _dataset_script,
        "thing_jsonld": _thing_script,
        "cite_text": lambda: plain_text(_facts()),
        "cite_formats": FORMATS,
    }


def _facts() -> DatasetFacts:
    state = get_state()
    return per_release("dataset facts", lambda: jsonld.dataset_facts(state.backend, state.base_iri))


def _dataset_script() -> Markup:
    state = get_state()
    try:
        facts = _facts()
    except NotFoundError:  # a store without a dataset description still serves its pages
        log.warning("release %s describes no dataset: no JSON-LD", state.backend.info.release)
        return Markup("")
    places = per_release(
        "dataset countries", lambda: jsonld.countries(state.backend, state.base_iri)
    )
    return jsonld.script(jsonld.dataset(facts, places, state.backend.info, state.base_iri))


def _thing_script(iri: str, kind: str) -> Markup:
    state = get_state()
    # The page being rendered has fetched its document already (pages.views._serve).
    known = g.get("document")
    doc = known if known is not None and known.iri == iri else None
    return jsonld.script(jsonld.thing(state.backend, iri, kind, state.base_iri, doc))


def _day(facts: DatasetFacts) -> date | None:
    try:
        return date.fromisoformat(facts.date)
    except ValueError:
        return None


_BIB_SPECIAL: Final = re.compile(r"([&%$#_{}])")


def _bib(text: str) -> str:
    r"""Escape the characters that BibTeX and LaTeX read as markup.

    >>> print(_bib("R&D 50% #1 ~ \\"))
    R\&D 50\% \#1 \textasciitilde{} \textbackslash{}
    """
    text = text.replace("\\", "\0").replace("~", "\1")  # placeholders: no markup has them
    text = _BIB_SPECIAL.sub(r"\\\1", text)
    return text.replace("\0", r"\textbackslash{}").replace("\1", r"\textasciitilde{}")


def _rows(text: str, width: int = _COLUMNS) -> int:
    """Return how many rows of a text box of ``width`` columns show a text whole.

    >>> _rows("a" * 150 + "\\nb")
    3
    """
    return sum(max(1, -(-len(line) // width)) for line in text.splitlines())


def _one_line(text: str) -> str:
    return " ".join(text.split())


_EXAMPLE: Final = DatasetFacts(
    iri="https://x/dataset",
    title="A title",
    description="",
    licence="https://l/",
    release="1.0+ab",
    modified="2026-12-01T10:00:00+00:00",
    identifier="",
    creator="The project",
    source="",
    temporal=None,
)
