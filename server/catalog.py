"""The named-query catalog: load ``queries/*.rq``, check their headers, bind typed parameters."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, TypeAlias

import pyoxigraph as ox
import yaml
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SH

from . import querytext
from .errors import BadRequestError
from .vocab import DEFAULT_BASE_IRI, SCHEMA, graph_iri

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
HEADER_KEYS: Final = ("title", "description", "parameters", "tags")
PARAMETER_KEYS: Final = ("type", "required", "default", "enum", "description", "example")
#: Longest value a ``string`` parameter accepts, in characters.
MAX_STRING: Final = 500
HEADER_MARK: Final = "#+"

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VARNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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


def load(queries_dir: Path, base_iri: str = DEFAULT_BASE_IRI) -> Catalog:
    """Load and check every ``*.rq`` file of a folder.

    Loads are remembered while no file changes (name, size, modification time),
    as every application the tests create loads the same folder.

    :raises CatalogError: for the first file that does not pass, naming it.
    """
    if not queries_dir.is_dir():
        raise CatalogError(f"{queries_dir}: query folder missing")
    paths = sorted(queries_dir.glob("*.rq"), key=lambda p: p.stem)
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    return _load(stamp, base_iri)


@functools.lru_cache(maxsize=8)
def _load(stamp: tuple[tuple[str, int, int], ...], base_iri: str) -> Catalog:
    queries = tuple(parse_file(Path(path), base_iri) for path, _, _ in stamp)
    log.info("loaded %d named queries", len(queries))
    return Catalog(queries)


def parse_file(path: Path, base_iri: str = DEFAULT_BASE_IRI) -> NamedQuery:
    """Parse and check one query file.

    The header is the run of ``#+`` lines at the top, YAML once the marks are
    stripped; the rest is plain SPARQL. A header key or type that is not known,
    a missing title or description, a parameter the query does not use or does
    not project, or a body that does not parse once bound, is a CatalogError.
    """
    name = path.stem
    if not _NAME.fullmatch(name):
        raise CatalogError(f"{path}: the file name must be kebab-case (it is the API path)")
    source = path.read_text(encoding="utf-8")
    header, body = split_header(source)
    if header is None:
        raise CatalogError(f"{path}: no '#+' header with a title and a description")
    try:
        meta = yaml.safe_load(rebase_text(header, base_iri))
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: header is not valid YAML: {_one_line(str(exc))}") from exc
    if not isinstance(meta, dict):
        raise CatalogError(f"{path}: header must be a YAML mapping")
    _check_keys(path, "header", meta, HEADER_KEYS)
    title = _text(path, meta, "title")
    description = _text(path, meta, "description")
    tags = _tags(path, meta.get("tags"))
    parameters = _parameters(path, meta.get("parameters"))
    text = rebase_text(body, base_iri)
    variables = _variables(path, text)
    group = querytext.where_group(text)
    if group is None:
        raise CatalogError(f"{path}: no WHERE clause found")
    where_at, where_end = group
    used = querytext.used_variables(text[where_at:where_end])
    for parameter in parameters:
        if parameter.name not in used:
            raise CatalogError(
                f"{path}: parameter {parameter.name!r} is declared but the query does not "
                f"use ?{parameter.name} in its WHERE clause"
            )
        if parameter.name not in variables:
            raise CatalogError(
                f"{path}: parameter {parameter.name!r} is not projected: add ?{parameter.name} "
                "to the SELECT clause (and to GROUP BY if the query aggregates)"
            )
    query = NamedQuery(
        name=name,
        path=str(path),
        title=title,
        description=description,
        tags=tags,
        parameters=parameters,
        text=text,
        variables=variables,
        where_at=where_at,
    )
    _check_binds(path, query)
    return query


def split_header(source: str) -> tuple[str | None, str]:
    """Split a query file into its YAML header (marks stripped) and its SPARQL body.

    >>> split_header("#+ title: T\\n#+ description: >-\\n#+   D\\nSELECT * {}\\n")
    ('title: T\\ndescription: >-\\n  D', 'SELECT * {}\\n')
    >>> split_header("SELECT * {}")
    (None, 'SELECT * {}')
    """
    lines = source.splitlines(keepends=True)
    header = []
    for line in lines:
        if not line.startswith(HEADER_MARK):
            break
        content = line[len(HEADER_MARK) :].rstrip("\r\n")
        header.append(content[1:] if content.startswith(" ") else content)
    if not header:
        return None, source
    return "\n".join(header), "".join(lines[len(header) :]).lstrip("\r\n")


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


def rebase_text(text: str, base_iri: str) -> str:
    """Move the default base IRI in a query file's own text to the served one.

    >>> rebase_text("<https://w3id.org/escp4i/id/x>", "http://localhost:5000/")
    '<http://localhost:5000/id/x>'
    """
    if base_iri == DEFAULT_BASE_IRI:
        return text
    return text.replace(DEFAULT_BASE_IRI, base_iri)


def examples_graph(queries_dir: Path, base_iri: str = DEFAULT_BASE_IRI) -> Graph:
    """Describe every named query as a SHACL SPARQL executable, for the ``queries`` graph.

    Each query is ``<graph/queries#name>``, an ``sh:SPARQLSelectExecutable`` with
    its title, description, tags, ready-to-run text (example values bound) and the
    endpoint it runs on; its ``dcterms:identifier`` is its name, the last segment
    of its API path ``api/queries/<name>``.

    :raises CatalogError: for a query file that does not pass, naming it.
    """
    catalog = load(queries_dir, base_iri)
    g = Graph(bind_namespaces="none")
    g.bind("dcterms", DCTERMS)
    g.bind("rdf", RDF)
    g.bind("rdfs", RDFS)
    g.bind("schema", SCHEMA)
    g.bind("sh", SH)
    ns = Namespace(graph_iri("queries", base_iri) + "#")
    endpoint = URIRef(base_iri + "sparql")
    for query in catalog:
        node = ns[query.name]
        g.add((node, RDF.type, SH.SPARQLExecutable))
        g.add((node, RDF.type, SH.SPARQLSelectExecutable))
        g.add((node, RDFS.label, Literal(query.title, lang="en")))
        g.add((node, RDFS.comment, Literal(query.description, lang="en")))
        g.add((node, SH.select, Literal(query.example_text())))
        g.add((node, DCTERMS.identifier, Literal(query.name)))
        g.add((node, SCHEMA.target, endpoint))
        for tag in query.tags:
            g.add((node, SCHEMA.keywords, Literal(tag)))
    return g


def _check_keys(path: Path, where: str, meta: Mapping[Any, Any], legal: Sequence[str]) -> None:
    for key in meta:
        if key not in legal:
            raise CatalogError(
                f"{path}: unknown {where} key {key!r}; legal keys: {', '.join(legal)}"
            )


def _text(path: Path, meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{path}: header needs a non-empty {key!r}")
    return " ".join(value.split())


def _tags(path: Path, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise CatalogError(f"{path}: 'tags' must be a list of words")
    return tuple(value)


def _parameters(path: Path, value: Any) -> tuple[Parameter, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise CatalogError(f"{path}: 'parameters' must map each name to its declaration")
    return tuple(_parameter(path, name, spec) for name, spec in value.items())


def _parameter(path: Path, name: Any, spec: Any) -> Parameter:
    where = f"{path}: parameter {name!r}"
    if not isinstance(name, str) or not _VARNAME.fullmatch(name):
        raise CatalogError(f"{where}: the name must be a SPARQL variable name")
    if not isinstance(spec, dict):
        raise CatalogError(f"{where}: the declaration must be a mapping with a 'type'")
    _check_keys(path, f"parameter {name!r}", spec, PARAMETER_KEYS)
    type_ = spec.get("type")
    if type_ not in TYPES:
        raise CatalogError(f"{where}: unknown type {type_!r}; legal types: {', '.join(TYPES)}")
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise CatalogError(f"{where}: 'required' must be true or false")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise CatalogError(f"{where}: 'description' must be text")
    enum = spec.get("enum", [])
    if not isinstance(enum, list) or not enum and "enum" in spec:
        raise CatalogError(f"{where}: 'enum' must be a non-empty list")
    values = {
        key: _scalar(where, key, spec.get(key)) for key in ("default", "example") if key in spec
    }
    parameter = Parameter(
        name=name,
        type=type_,
        description=" ".join(description.split()),
        required=required,
        default=values.get("default"),
        enum=tuple(_scalar(where, "enum", v) for v in enum),
        example=values.get("example"),
    )
    if parameter.required and parameter.default is not None:
        raise CatalogError(f"{where}: a required parameter cannot have a default")
    if parameter.required and parameter.example is None:
        raise CatalogError(f"{where}: a required parameter needs an 'example'")
    for key, value in [*values.items(), *(("enum", v) for v in parameter.enum)]:
        try:
            coerce(type_, value)
        except ValueError as exc:
            raise CatalogError(f"{where}: {key} {exc}") from None
    for key, given in values.items():
        if parameter.enum and given not in parameter.enum:
            raise CatalogError(f"{where}: {key} {given!r} is not one of its enum values")
    return parameter


def _scalar(where: str, key: str, value: Any) -> str:
    """Keep a header value as the string a request would send."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise CatalogError(f"{where}: {key} must be a single value, not {type(value).__name__}")


def _variables(path: Path, text: str) -> tuple[str, ...]:
    """Return the result variables of a SELECT query, running it on an empty store."""
    try:
        result = ox.Store().query(text)
    except SyntaxError as exc:
        raise CatalogError(f"{path}: SPARQL syntax error: {_one_line(str(exc))}") from None
    if not isinstance(result, ox.QuerySolutions):
        raise CatalogError(f"{path}: a named query must be a SELECT query")
    return tuple(v.value for v in result.variables)


def _check_binds(path: Path, query: NamedQuery) -> None:
    """Check that the query still parses, and pyoxigraph accepts, the example values bound."""
    args = query.example_args()
    try:
        text = query.example_text()
        ox.Store().query(text)
        substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(p.name): p.coerce(args[p.name]) for p in query.parameters if p.name in args
        }
        ox.Store().query(query.text, substitutions=substitutions)
    except BadRequestError as exc:
        raise CatalogError(f"{path}: example value rejected: {exc.detail}") from None
    except (SyntaxError, RuntimeError) as exc:
        raise CatalogError(
            f"{path}: the query does not run with its example values bound: {_one_line(str(exc))}"
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
