"""The lexical screen: measure a query's nesting and words before any parser sees it.

pyoxigraph and the Oxigraph server crash on deep nesting (STACK.md), so what could overflow
a parser's stack is refused here; the same scan tells whether a query names its dataset.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pyoxigraph as ox

from .jobs import QueryRejectedError

#: Keywords and operators that each add a level to the algebra pyoxigraph builds recursively.
_NESTING_WORDS: Final = frozenset(
    {"UNION", "OPTIONAL", "MINUS", "FILTER", "BIND", "GRAPH", "EXISTS"}
)
#: SPARQL's lexical tokens, enough to skip strings, IRIs and comments and to see the
#: nesting and the keywords; the dialects read dataset clauses with it too.
TOKENS: Final = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*(?:'''|$)|\"\"\"(?:[^"\\]|\\.|"(?!""))*(?:\"\"\"|$)
                |'(?:[^'\\\n\r]|\\.)*'?|"(?:[^"\\\n\r]|\\.)*"?)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<open>[{(\[])
    | (?P<close>[})\]])
    | (?P<var>[?$]\w+)
    | (?P<word>[^\W\d][\w.-]*(?::[\w.%:-]*)?|:[\w.%:-]*)
    | (?P<op>\|\||&&|!=|<=|>=|[=<>+\-*/|^!])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Screen:
    """What the lexical screen found: the deepest bracket nesting and the nesting operators."""

    depth: int
    operators: int
    words: frozenset[str]


def scan(text: str) -> Screen:
    """Measure a query without parsing it: strings, IRIs and comments are skipped.

    >>> found = scan("SELECT ?s { { ?s ?p '{{' } UNION { ?s ?p ?o } } # {{{{")
    >>> found.depth, found.operators, sorted(found.words)
    (2, 1, ['SELECT', 'UNION'])
    >>> scan("SELECT ?s { ?s ?p ?o FILTER(?o < 3 || ?o > <http://e/x>) }").operators
    4
    """
    depth = deepest = operators = 0
    words: set[str] = set()
    for match in TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif kind == "op":
            operators += 1
        elif kind == "word" and ":" not in match.group():
            word = match.group().upper()
            words.add(word)
            operators += word in _NESTING_WORDS
    return Screen(deepest, operators, frozenset(words))


def screen(text: str, *, max_depth: int, max_operators: int) -> None:
    """Refuse a query that could overflow a parser's stack or call other servers.

    :raises QueryRejectedError: naming the limit the query goes past.

    >>> screen("SELECT * " + "{" * 80 + "}" * 80, max_depth=64, max_operators=1000)
    Traceback (most recent call last):
    ...
    server.store.jobs.QueryRejectedError: the query nests brackets 80 deep; the limit is 64
    >>> screen("SELECT * { SERVICE <http://x/> { ?s ?p ?o } }", max_depth=64, max_operators=9)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    server.store.jobs.QueryRejectedError: federated queries (SERVICE) are not offered ...
    """
    found = _scan(text)
    if found.depth > max_depth:
        raise QueryRejectedError(
            f"the query nests brackets {found.depth} deep; the limit is {max_depth}"
        )
    if found.operators > max_operators:
        raise QueryRejectedError(
            f"the query has {found.operators} operators (UNION, OPTIONAL, FILTER, ||, + …); "
            f"the limit is {max_operators}"
        )
    # pyoxigraph and Oxigraph server would fetch any URL named in SERVICE from inside our network.
    if "SERVICE" in found.words:
        raise QueryRejectedError("federated queries (SERVICE) are not offered by this endpoint")


def has_dataset_clause(text: str) -> bool:
    """Tell whether a query names its own dataset with FROM or FROM NAMED.

    >>> has_dataset_clause("SELECT * FROM <g> { ?s ?p ?o }")
    True
    >>> has_dataset_clause("SELECT * { ?s <http://e/from> 'FROM' } # FROM")
    False
    """
    return "FROM" in _scan(text).words


#: Functions whose value changes from one evaluation of a query to the next (SPARQL 1.1
#: §17.4.5, §17.4.4): an answer that calls one may not be replayed by any cache.
_VOLATILE: Final = frozenset({"NOW", "RAND", "UUID", "STRUUID"})


def is_volatile(text: str) -> bool:
    """Tell whether a query calls NOW, RAND, UUID or STRUUID, so that no cache may keep it.

    Conservative: a call in a query form that cannot reach the answer still counts.

    >>> is_volatile("SELECT (now() AS ?t) {}"), is_volatile("SELECT * { ?s ?p 'RAND()' }")
    (True, False)
    >>> is_volatile("SELECT ?now { ?s <http://e/rand> ?now }  # UUID()")
    False
    """
    return not _VOLATILE.isdisjoint(_scan(text).words)


#: Pages and named queries send the same short texts again and again; a bounded
#: number of them, each bounded in size, is remembered.
_REMEMBERED_TEXT: Final = 8192
_remembered_scan = functools.lru_cache(maxsize=256)(scan)


def _scan(text: str) -> Screen:
    return _remembered_scan(text) if len(text) <= _REMEMBERED_TEXT else scan(text)


def dataset_options(
    text: str, default_graphs: Sequence[str], named_graphs: Sequence[str]
) -> dict[str, Any]:
    """Return pyoxigraph's dataset arguments for a query (SPARQL 1.1 Protocol 2.1.4).

    Graphs given with the request replace FROM and FROM NAMED; with none given, the
    query's own clauses apply; with neither, the default graph is the union of all graphs.

    >>> dataset_options("ASK {}", [], [])
    {'use_default_graph_as_union': True}
    >>> dataset_options("ASK FROM <http://e/g> {}", [], [])
    {}
    >>> dataset_options("ASK {}", ["http://e/g"], [])
    {'default_graph': [<NamedNode value=http://e/g>], 'named_graphs': []}
    """
    if default_graphs or named_graphs:
        return {
            "default_graph": [ox.NamedNode(g) for g in default_graphs],
            "named_graphs": [ox.NamedNode(g) for g in named_graphs],
        }
    # pyoxigraph ignores FROM when asked for the union, so ask only when there is no FROM.
    if has_dataset_clause(text):
        return {}
    return {"use_default_graph_as_union": True}
