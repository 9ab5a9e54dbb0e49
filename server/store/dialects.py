"""What differs between the SPARQL engines behind the remote backend, kept in one place.

Each dialect says how a request's dataset reaches its engine, what else a query request
carries, which replies are failures in disguise, and how its error bodies read. Routes never
see any of it: they get the same results and the same errors from every engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Final

from server.errors import BadGatewayError, BadRequestError, QueryTimeoutError

from .backend import Dataset, Substitutions
from .screen import TOKENS, has_dataset_clause, scan

#: SELECT and ASK come back as SPARQL JSON, CONSTRUCT and DESCRIBE as N-Triples: formats that
#: every SPARQL server writes and pyoxigraph reads.
RESULTS_ACCEPT: Final = "application/sparql-results+json, application/n-triples;q=0.9"
#: Named graph IRI that no release holds: naming it empties the named graphs on an engine
#: that would otherwise let GRAPH see every graph it has.
NO_GRAPH: Final = "urn:x-escp4i:no-graph"

_FORMS: Final = frozenset({"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"})
#: Where a query without WHERE (DESCRIBE <x> LIMIT 1) has its dataset clauses end.
_AFTER_DATASET: Final = frozenset(
    {"WHERE", "ORDER", "GROUP", "HAVING", "LIMIT", "OFFSET", "VALUES"}
)


@dataclass(frozen=True)
class Clauses:
    """Where a query's own dataset clauses are, and where new ones go."""

    spans: tuple[tuple[int, int], ...]
    named: bool
    insert_at: int
    form: str = ""
    #: Just inside the WHERE clause's opening brace, where one exists.
    group_at: int | None = None


def find_clauses(text: str) -> Clauses:
    """Find the top-level FROM and FROM NAMED clauses of a query, and where WHERE begins.

    >>> found = find_clauses("SELECT * FROM <g> FROM NAMED <h> WHERE { ?s ?p 'FROM' }")
    >>> found.spans, found.named, found.insert_at
    (((9, 17), (18, 32)), True, 33)
    >>> found = find_clauses("CONSTRUCT { ?s ?p ?o } { ?s ?p ?o }")
    >>> found.form, found.insert_at, found.group_at
    ('CONSTRUCT', 23, 24)
    """
    spans: list[tuple[int, int]] = []
    named = False
    depth = 0
    form = ""
    template = False  # CONSTRUCT's template braces come before its dataset clauses
    start: int | None = None
    insert_at: int | None = None
    for match in TOKENS.finditer(text):
        kind, lexeme = match.lastgroup, match.group()
        if kind in ("comment", "string"):
            continue
        word = lexeme.upper() if kind == "word" else ""
        if insert_at is not None:  # after WHERE: its group's brace
            if kind == "open" and lexeme == "{":
                return Clauses(tuple(spans), named, insert_at, form, match.end())
            if kind == "word":
                break
        elif start is not None:  # the graph of a FROM, or NAMED before it
            if word == "NAMED":
                named = True
                continue
            spans.append((start, match.end()))
            start = None
        elif kind == "open":
            if depth == 0 and lexeme == "{" and form:
                if form != "CONSTRUCT" or template:
                    return Clauses(tuple(spans), named, match.start(), form, match.end())
                template = True
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
        elif depth == 0 and not form and word in _FORMS:
            form = word
        elif depth == 0 and form and word == "FROM":
            start = match.start()
        elif depth == 0 and form and word == "WHERE":
            insert_at = match.start()
        elif depth == 0 and form and word in _AFTER_DATASET:
            return Clauses(tuple(spans), named, match.start(), form)
    if insert_at is not None:
        return Clauses(tuple(spans), named, insert_at, form)
    return Clauses(tuple(spans), named, len(text), form)


def with_dataset(
    text: str, default_graphs: Sequence[str], named_graphs: Sequence[str], *, keep: bool = False
) -> str:
    """Replace a query's FROM and FROM NAMED clauses with the given graphs (or add to them).

    Removed clauses leave their line breaks, so an engine's error positions still fit.

    >>> with_dataset("SELECT * FROM <a> { ?s ?p ?o }", ["http://e/g"], [])
    'SELECT *   FROM <http://e/g> { ?s ?p ?o }'
    >>> with_dataset("ASK FROM <a> {}", [], ["http://e/g"], keep=True)
    'ASK FROM <a>  FROM NAMED <http://e/g> {}'
    """
    found = find_clauses(text)
    clauses = [f"FROM <{g}>" for g in default_graphs]
    clauses += [f"FROM NAMED <{g}>" for g in named_graphs]
    insert = " " + " ".join(clauses) + " "
    out: list[str] = []
    last = 0
    for begin, end in () if keep else found.spans:
        out += [text[last:begin], "\n" * text.count("\n", begin, end)]
        last = end
    if found.insert_at < last:  # cannot happen in a valid query; keep the text whole
        return text
    out += [text[last : found.insert_at], insert, text[found.insert_at :]]
    return "".join(out)


def values_block(substitutions: Substitutions) -> str:
    """Write pre-bound variables as a VALUES block of N-Triples terms.

    >>> import pyoxigraph as ox
    >>> c, n = ox.Variable("c"), ox.Variable("n")
    >>> values_block({c: ox.NamedNode("http://e/c"), n: ox.Literal("x")})
    'VALUES (?c ?n) { (<http://e/c> "x") }'
    """
    names = " ".join(str(v) for v in substitutions)
    terms = " ".join(str(t) for t in substitutions.values())
    return f"VALUES ({names}) {{ ({terms}) }}"


def accept_for_form(text: str) -> str:
    """Return the one result format a query's form yields, for engines that mix them up.

    >>> accept_for_form("PREFIX a: <x:> CONSTRUCT WHERE { ?s ?p ?o }")
    'application/n-triples'
    """
    form = find_clauses(text).form
    if form in ("CONSTRUCT", "DESCRIBE"):
        return "application/n-triples"
    if form in ("SELECT", "ASK"):
        return "application/sparql-results+json"
    return RESULTS_ACCEPT


class Dialect:
    """The SPARQL 1.1 Protocol as written, as the Oxigraph server speaks it."""

    name = "standard"

    def accept(self, text: str) -> str:
        """Return the Accept header for a query: formats that pyoxigraph reads."""
        return RESULTS_ACCEPT

    def reply(self, body: bytes, media_type: str) -> bytes:
        """Return a 200 reply's body in a form pyoxigraph reads."""
        return body

    def substitute(self, text: str, substitutions: Substitutions) -> str:
        """Bind variables with a trailing VALUES block (SPARQL 1.1 Query 10.2.2)."""
        return f"{text}\n{values_block(substitutions)}"

    def request(
        self,
        text: str,
        dataset: Dataset,
        release_graphs: Callable[[], Sequence[str]],
        timeout: float,
    ) -> tuple[str, list[tuple[str, str]]]:
        """Return the query text and the protocol parameters to send with it.

        A query without FROM and without a request dataset is given every graph of the
        release as default and named graphs (Protocol 2.1.4), so its default graph is their
        union, as on the embedded store.
        """
        if dataset.is_default() and not has_dataset_clause(text):
            graphs = tuple(release_graphs())
            dataset = Dataset(default_graphs=graphs, named_graphs=graphs)
        params = [("default-graph-uri", g) for g in dataset.default_graphs]
        params += [("named-graph-uri", g) for g in dataset.named_graphs]
        return text, params

    def check(self, headers: Message, timeout: float) -> None:
        """Raise for a 200 reply that the engine itself marks as not a whole result."""

    def message(self, body: str) -> str:
        """Return the part of an error body worth quoting to the client."""
        return body


class Virtuoso(Dialect):
    """Virtuoso Open Source 7.

    Its protocol parameters add to FROM instead of replacing it, and neither FROM nor
    default-graph-uri alone empties the named graphs (GRAPH ?g then sees its system graphs
    too): so a query with its own or a request's dataset gets it written as FROM clauses,
    with ``NO_GRAPH`` as the named graph when there is none. At its ``timeout`` it answers
    200 with what it had (an "anytime" query, ``X-SQL-State: S1TAT``): that is a timeout,
    never a result. It sends SPARQL 1.0's "typed-literal" term type, which pyoxigraph reads.
    """

    name = "virtuoso"

    def accept(self, text: str) -> str:
        # Asked for SPARQL JSON first, it sends CONSTRUCT's triples as s/p/o solutions.
        return accept_for_form(text)

    def reply(self, body: bytes, media_type: str) -> bytes:
        if media_type != "application/sparql-results+json":
            return body
        try:
            document = json.loads(body)
        except ValueError:
            return body  # cut short: parse_reply says so
        rows = document.get("results", {}).get("bindings", [])
        if document.get("head", {}).get("vars") == ["__ASK_RETVAL"]:
            # ASK comes back as a SELECT of one integer, 1 or no row at all.
            answer = any(row.get("__ASK_RETVAL", {}).get("value") == "1" for row in rows)
            return json.dumps({"head": {}, "boolean": answer}).encode()
        for row in rows:
            for term in row.values():
                _mend_term(term)
        return json.dumps(document).encode()

    def substitute(self, text: str, substitutions: Substitutions) -> str:
        # "BINDINGS is not supported at top level for queries other than SELECT": there the
        # block opens the WHERE clause instead, on the same line, joined as the trailing
        # one would be.
        found = find_clauses(text)
        block = values_block(substitutions)
        if found.form == "SELECT" or not found.form:
            return super().substitute(text, substitutions)
        if found.group_at is None:  # DESCRIBE <x> has no WHERE: give it one
            at = found.insert_at
            return f"{text[:at]} WHERE {{ {block} }} {text[at:]}"
        at = found.group_at
        return f"{text[:at]} {block} {text[at:]}"

    def request(
        self,
        text: str,
        dataset: Dataset,
        release_graphs: Callable[[], Sequence[str]],
        timeout: float,
    ) -> tuple[str, list[tuple[str, str]]]:
        # Stop a little before the client gives up, so the engine frees itself.
        params = [("timeout", str(int(timeout * 900)))]
        if dataset.is_default() and not has_dataset_clause(text):
            return text, params + super().request(text, dataset, release_graphs, timeout)[1]
        if dataset.is_default():
            if find_clauses(text).named:
                return text, params
            return with_dataset(text, [], [NO_GRAPH], keep=True), params
        named = list(dataset.named_graphs) or [NO_GRAPH]
        return with_dataset(text, dataset.default_graphs, named), params

    def check(self, headers: Message, timeout: float) -> None:
        state = headers.get("X-SQL-State")
        if state == "S1TAT":
            raise QueryTimeoutError(
                f"the SPARQL endpoint did not finish within {timeout} s", timeout=timeout
            )
        if state or headers.get("X-SPARQL-MaxRows"):
            # Anything else it flags is a cut result (its ResultSetMaxRows, for one).
            raise BadGatewayError(
                f"the SPARQL endpoint sent an incomplete result: {headers.get('X-SQL-Message')}"
            )

    def message(self, body: str) -> str:
        # It echoes the whole query after the message, with the clauses added here.
        return body.split("\n\nSPARQL query:", 1)[0].strip()


class Comunica(Dialect):
    """Comunica 4 (``comunica-sparql-file-http``), started with ``--unionDefaultGraph``.

    It ignores default-graph-uri and named-graph-uri, so a request's default graphs are
    written as FROM clauses; it cannot evaluate FROM NAMED at all, and a GRAPH pattern
    under FROM alone runs until its timeout: those are refused here with a 400 naming the
    limit, instead of a wrong answer or a hang.
    """

    name = "comunica"

    def accept(self, text: str) -> str:
        # Offered SPARQL JSON for a CONSTRUCT, it answers 400 and its worker dies writing
        # a second status line ("ERR_HTTP_HEADERS_SENT"): the endpoint is gone for ~15 s.
        return accept_for_form(text)

    def reply(self, body: bytes, media_type: str) -> bytes:
        # Its SPARQL JSON ends with a "metadata" member after the results, which pyoxigraph
        # refuses ("Unexpected JSON after the end of the bindings array").
        if media_type != "application/sparql-results+json":
            return body
        try:
            document = json.loads(body)
        except ValueError:
            return body  # cut short: parse_reply says so
        document.pop("metadata", None)
        return json.dumps(document).encode()

    def request(
        self,
        text: str,
        dataset: Dataset,
        release_graphs: Callable[[], Sequence[str]],
        timeout: float,
    ) -> tuple[str, list[tuple[str, str]]]:
        own = has_dataset_clause(text)
        if dataset.is_default() and not own:
            return text, []  # its default graph is the union of the files' graphs
        if dataset.named_graphs or (dataset.is_default() and find_clauses(text).named):
            raise BadRequestError(
                "this service's SPARQL engine (Comunica) does not support FROM NAMED "
                "or named-graph-uri"
            )
        if "GRAPH" in scan(text).words:
            raise BadRequestError(
                "this service's SPARQL engine (Comunica) cannot evaluate GRAPH patterns "
                "over a dataset given with FROM or default-graph-uri"
            )
        if dataset.is_default():
            return text, []
        return with_dataset(text, dataset.default_graphs, []), []


def _mend_term(term: dict[str, object]) -> None:
    """Make one of Virtuoso's SPARQL JSON terms one that SPARQL 1.1 JSON allows.

    Its blank nodes are named ``nodeID://b10023``, which is no blank node label.

    >>> term = {"type": "bnode", "value": "nodeID://b10023"}
    >>> _mend_term(term); term
    {'type': 'bnode', 'value': 'b10023'}
    """
    value = str(term.get("value", ""))
    if term.get("type") == "bnode" or value.startswith("nodeID://"):
        term["type"] = "bnode"
        term["value"] = re.sub(r"\W", "_", value.removeprefix("nodeID://"))


DIALECTS: Final[Mapping[str, Dialect]] = {d.name: d for d in (Dialect(), Virtuoso(), Comunica())}


def detect(headers: Message) -> Dialect:
    """Tell the dialect from a reply's headers; the standard one when nothing says otherwise.

    >>> m = Message()
    >>> m["Server"] = "Virtuoso/07.20.3229 (Linux) x86_64-pc-linux-gnu"
    >>> detect(m).name
    'virtuoso'
    """
    if headers.get("Server", "").startswith("Virtuoso/"):
        return DIALECTS["virtuoso"]
    return DIALECTS["standard"]


def by_name(name: str) -> Dialect:
    """Return a dialect by name; raise ValueError naming the legal ones."""
    try:
        return DIALECTS[name]
    except KeyError:
        legal = ", ".join(["auto", *DIALECTS])
        raise ValueError(f"unknown SPARQL dialect {name!r}; use one of {legal}") from None
