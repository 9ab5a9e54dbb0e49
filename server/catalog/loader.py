"""Load ``queries/*.rq``: split the ``#+`` YAML header from the SPARQL body and check both."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import pyoxigraph as ox
import yaml

from server.errors import BadRequestError
from server.vocab import DEFAULT_BASE_IRI

from . import querytext
from .model import (
    TYPES,
    Catalog,
    CatalogError,
    NamedQuery,
    Parameter,
    coerce,
)

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VARNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER_KEYS: Final = ("title", "description", "parameters", "tags")
PARAMETER_KEYS: Final = ("type", "required", "default", "enum", "description", "example")
HEADER_MARK: Final = "#+"


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


def rebase_text(text: str, base_iri: str) -> str:
    """Move the default base IRI in a query file's own text to the served one.

    >>> rebase_text("<https://w3id.org/escp4i/id/x>", "http://localhost:5000/")
    '<http://localhost:5000/id/x>'
    """
    if base_iri == DEFAULT_BASE_IRI:
        return text
    return text.replace(DEFAULT_BASE_IRI, base_iri)


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
