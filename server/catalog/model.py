"""Named queries and their typed parameters: the records, and request values bound as terms.

Request strings become pyoxigraph terms here and reach the query only as a trailing
VALUES block of N-Triples terms: never by string formatting on the query text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final, TypeAlias

import pyoxigraph as ox

from server.errors import BadRequestError

log = logging.getLogger(__name__)

Term: TypeAlias = ox.NamedNode | ox.Literal

#: Parameter types a header may declare, each with the datatype of its literals.
TYPES: Final[dict[str, str | None]] = {
    "iri": None,
    "string": "http://www.w3.org/2001/XMLSchema#string",
    "integer": "http://www.w3.org/2001/XMLSchema#integer",
    "decimal": "http://www.w3.org/2001/XMLSchema#decimal",
    "date": "http://www.w3.org/2001/XMLSchema#date",
    "boolean": "http://www.w3.org/2001/XMLSchema#boolean",
}
#: Longest value a ``string`` parameter accepts, in characters.
MAX_STRING: Final = 500

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}


class CatalogError(ValueError):
    """A query file that cannot be served; the message starts with the file's path."""


@dataclass(frozen=True)
class Parameter:
    """One declared parameter of a named query: its SPARQL variable and its type."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    default: str | None = None
    enum: tuple[str, ...] = ()
    example: str | None = None

    def coerce(self, raw: str) -> Term:
        """Turn a request value into a typed RDF term.

        :raises BadRequestError: naming the parameter when the value does not fit.
        """
        try:
            term = coerce(self.type, raw)
        except ValueError as exc:
            raise BadRequestError(f"parameter {self.name!r}: {exc}", parameter=self.name) from exc
        if self.enum and term not in {coerce(self.type, value) for value in self.enum}:
            raise BadRequestError(
                f"parameter {self.name!r}: {raw!r} is not one of {', '.join(self.enum)}",
                parameter=self.name,
            )
        return term


@dataclass(frozen=True)
class NamedQuery:
    """A query file: its metadata, its SPARQL text and where parameter values are bound."""

    name: str
    path: str
    title: str
    description: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    #: The SPARQL query: the file without its header, rebased to the served base IRI.
    text: str
    #: The variables of the query's result, in order.
    variables: tuple[str, ...]
    #: Offset in ``text`` just after the ``{`` that opens the WHERE clause.
    where_at: int

    def parameter(self, name: str) -> Parameter | None:
        """Return the declared parameter of that name, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def example_args(self) -> dict[str, str]:
        """Return the example value of every parameter that has one."""
        return {p.name: p.example for p in self.parameters if p.example is not None}

    def bind(self, args: Mapping[str, Sequence[str]]) -> str:
        """Return the query with the request's values bound.

        :param args: request values by parameter name, as a query string gives them;
            an empty value counts as absent.
        :raises BadRequestError: for an unknown, repeated, missing or ill-typed value.
        """
        return bind(self, args)

    def example_text(self) -> str:
        """Return the query with the example values bound: ready to run."""
        return bind(self, {name: [value] for name, value in self.example_args().items()})


@dataclass(frozen=True)
class Catalog:
    """Every named query of a folder, by name."""

    queries: tuple[NamedQuery, ...]

    def get(self, name: str) -> NamedQuery | None:
        """Return the query of that name, or None."""
        return next((q for q in self.queries if q.name == name), None)

    def __iter__(self) -> Iterator[NamedQuery]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)


def coerce(type_: str, raw: str) -> Term:
    """Turn a string into a term of a parameter type; never return query syntax.

    >>> coerce("iri", "https://w3id.org/escp4i/id/country/be")
    <NamedNode value=https://w3id.org/escp4i/id/country/be>
    >>> str(coerce("string", 'a "quoted" }'))
    '"a \\\\"quoted\\\\" }"'
    >>> str(coerce("integer", "+007"))
    '"7"^^<http://www.w3.org/2001/XMLSchema#integer>'
    >>> str(coerce("decimal", "2.50"))
    '"2.50"^^<http://www.w3.org/2001/XMLSchema#decimal>'
    >>> str(coerce("date", "2016-03-08"))
    '"2016-03-08"^^<http://www.w3.org/2001/XMLSchema#date>'
    >>> str(coerce("boolean", "1"))
    '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>'
    >>> coerce("iri", "adpack")
    Traceback (most recent call last):
    ValueError: 'adpack' is not an absolute IRI (No scheme found in an absolute IRI)
    >>> coerce("integer", "1e3")
    Traceback (most recent call last):
    ValueError: '1e3' is not an integer
    >>> coerce("date", "2016-02-30")
    Traceback (most recent call last):
    ValueError: '2016-02-30' is not a date (YYYY-MM-DD)

    :raises ValueError: when the string is not a value of the type.
    """
    if type_ == "iri":
        try:
            return ox.NamedNode(raw)
        except ValueError as exc:
            raise ValueError(f"{raw!r} is not an absolute IRI ({exc})") from None
    if type_ == "string":
        if len(raw) > MAX_STRING:
            raise ValueError(f"longer than {MAX_STRING} characters")
        return ox.Literal(raw)
    datatype = ox.NamedNode(str(TYPES[type_]))
    if type_ == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ValueError(f"{raw!r} is not an integer")
        return ox.Literal(str(int(raw)), datatype=datatype)
    if type_ == "decimal":
        if not _DECIMAL.fullmatch(raw):
            raise ValueError(f"{raw!r} is not a decimal number")
        try:
            Decimal(raw)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            raise ValueError(f"{raw!r} is not a decimal number") from None
        return ox.Literal(raw, datatype=datatype)
    if type_ == "date":
        try:
            if not _DATE.fullmatch(raw):
                raise ValueError
            date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
        return ox.Literal(raw, datatype=datatype)
    if type_ == "boolean":
        if raw.lower() not in _BOOLEANS:
            raise ValueError(f"{raw!r} is not a boolean (true, false, 1 or 0)")
        return ox.Literal(_BOOLEANS[raw.lower()])
    raise ValueError(f"unknown parameter type {type_!r}")


def bind(query: NamedQuery, args: Mapping[str, Sequence[str]]) -> str:
    """Return the query text with the request's values bound in a VALUES block.

    The block opens the WHERE clause, so values reach FILTERs and EXISTS as well
    as triple patterns, identically on every SPARQL 1.1 engine. A trailing VALUES
    would not: it is joined after the WHERE clause (SPARQL 1.1, 18.2.4.3).

    :raises BadRequestError: naming the parameter that is unknown, repeated,
        required but missing, or not of its type.
    """
    unknown = sorted(set(args) - {p.name for p in query.parameters})
    if unknown:
        legal = ", ".join(p.name for p in query.parameters) or "none"
        raise BadRequestError(
            f"unknown parameter {unknown[0]!r} for query {query.name!r}; it takes: {legal}",
            parameter=unknown[0],
        )
    terms: dict[str, Term] = {}
    for parameter in query.parameters:
        values = [v for v in args.get(parameter.name, ()) if v != ""]
        if len(values) > 1:
            raise BadRequestError(
                f"parameter {parameter.name!r} is given {len(values)} times; give it once",
                parameter=parameter.name,
            )
        if values:
            terms[parameter.name] = parameter.coerce(values[0])
        elif parameter.default is not None:
            terms[parameter.name] = parameter.coerce(parameter.default)
        elif parameter.required:
            raise BadRequestError(
                f"parameter {parameter.name!r} is required", parameter=parameter.name
            )
    if not terms:
        return query.text
    return (
        query.text[: query.where_at] + "\n  " + values_block(terms) + query.text[query.where_at :]
    )


def values_block(terms: Mapping[str, Term]) -> str:
    """Write a one-row VALUES block from terms (their N-Triples form, escaped by pyoxigraph).

    Variable names come from checked headers, values only from terms.

    >>> values_block({"q": ox.Literal('x" } >')})
    'VALUES (?q) { ("x\\\\" } >") }'
    """
    names = " ".join("?" + name for name in terms)
    row = " ".join(str(term) for term in terms.values())
    return "VALUES (" + names + ") { (" + row + ") }"
