"""Read SPARQL text: the outermost WHERE group and the variables used, past comments and strings."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

log = logging.getLogger(__name__)

# SPARQL 1.1 grammar [139] IRIREF; a '<' that does not open one is the less-than operator.
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_VAR = re.compile(r"[?$]([A-Za-z_0-9\u00b7\u00c0-\ufffd]+)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def scan(text: str) -> Iterator[tuple[int, str]]:
    """Yield (offset, token) for braces, variables and WHERE; skip comments, strings and IRIs."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if text[j] == "\\" else 1
            i = j + len(quote)
        elif c == "<" and (m := _IRIREF.match(text, i)):
            i = m.end()
        elif c in "{}":
            yield i, c
            i += 1
        elif c in "?$" and (m := _VAR.match(text, i)):
            yield i, "?" + m.group(1)
            i = m.end()
        elif (m := _WORD.match(text, i)) and not text.startswith(":", m.end()):
            if m.group().upper() == "WHERE" and text[i - 1 : i] != ":":
                yield i, "WHERE"
            i = m.end()
        else:
            i += 1


def where_group(text: str) -> tuple[int, int] | None:
    """Return the offsets just inside the braces of the outermost WHERE group.

    That group is the first top-level one after the keyword WHERE or, the keyword
    being optional, the first top-level one.

    >>> where_group("SELECT (EXISTS { ?a ?b ?c } AS ?e) WHERE { ?s ?p ?o }")
    (42, 52)
    """
    marks = list(scan(text))
    after = next((offset for offset, mark in marks if mark == "WHERE"), 0)
    depth, start = 0, -1
    for offset, mark in marks:
        if mark == "{":
            if depth == 0 and start < 0 and offset >= after:
                start = offset + 1
            depth += 1
        elif mark == "}":
            depth -= 1
            if depth == 0 and start >= 0:
                return start, offset
    return None


def used_variables(text: str) -> set[str]:
    """Return the names of the variables a stretch of SPARQL text mentions.

    >>> sorted(used_variables('?a $b "?c" <x:?d> # ?e'))
    ['a', 'b']
    """
    return {mark[1:] for _, mark in scan(text) if mark.startswith("?")}
