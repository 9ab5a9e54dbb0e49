"""HTML checks for the pages: strict WHATWG parsing (html5lib) and structural a11y rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import html5lib

NS = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def check_html(text: str) -> list[str]:
    """Return the problems of an HTML page; an empty list means it passes.

    html5lib in strict mode raises on the first WHATWG parse error (a stray end tag,
    a bad attribute, a missing doctype); the rest are the accessibility rules a page
    of this site keeps: a language, a title, one h1, no skipped heading level,
    captions and scoped headers on tables, names on links, images, charts and
    form fields, unique ids.
    """
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    try:
        root = parser.parse(text)
    except html5lib.html5parser.ParseError as exc:
        return [f"HTML parse error: {exc}"]
    problems = []
    if not root.get("lang"):
        problems.append("<html> has no lang")
    title = root.find(f"{NS}head/{NS}title")
    if title is None or not "".join(title.itertext()).strip():
        problems.append("no <title>")
    h1s = root.findall(f".//{NS}h1")
    if len(h1s) != 1:
        problems.append(f"{len(h1s)} <h1> elements, expected 1")
    problems += _heading_levels(root)
    problems += _tables(root)
    problems += _names(root)
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate ids: {duplicates}")
    return problems


def _heading_levels(root: ET.Element) -> list[str]:
    levels = [int(el.tag[-1]) for el in root.iter() if el.tag in {f"{NS}h{n}" for n in range(1, 7)}]
    return [
        f"heading level jumps from h{a} to h{b}"
        for a, b in zip(levels, levels[1:], strict=False)
        if b > a + 1
    ]


def _tables(root: ET.Element) -> list[str]:
    problems = []
    for table in root.iter(f"{NS}table"):
        caption = table.find(f"{NS}caption")
        if caption is None or not "".join(caption.itertext()).strip():
            problems.append("a <table> without a <caption>")
        for th in table.iter(f"{NS}th"):
            if th.get("scope") not in ("col", "row"):
                problems.append("a <th> without scope")
    return problems


def _names(root: ET.Element) -> list[str]:
    problems = []
    for a in root.iter(f"{NS}a"):
        if not ("".join(a.itertext()).strip() or a.get("aria-label")):
            problems.append(f"a link without text: {a.get('href')}")
    for img in root.iter(f"{NS}img"):
        if img.get("alt") is None:
            problems.append("an <img> without alt")
    for svg in root.iter(f"{SVG}svg"):
        if svg.get("role") == "img" and svg.find(f"{SVG}title") is None:
            problems.append("an <svg role=img> without <title>")
    labelled = {label.get("for") for label in root.iter(f"{NS}label")}
    for field in root.iter(f"{NS}input"):
        if field.get("type") != "hidden" and field.get("id") not in labelled:
            problems.append(f"an <input> without a label: {field.get('name')}")
    return problems
