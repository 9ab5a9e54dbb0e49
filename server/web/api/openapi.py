"""The OpenAPI 3.1 document of the named-query API, generated from the query headers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from server.catalog import MAX_STRING, Catalog, NamedQuery, Parameter
from server.web.negotiation import CSV_RESULTS, JSON_RESULTS, TSV_RESULTS, XML_RESULTS, Offer

log = logging.getLogger(__name__)

#: IRIs the document promises to accept: a conservative subset of absolute IRIs.
IRI_PATTERN: Final = r"^https?://[A-Za-z0-9.-]+(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?$"
#: The plain JSON records representation (not SPARQL's JSON).
RECORDS_MEDIA_TYPE: Final = "application/json"


def openapi_document(
    queries: Catalog, suffixes: Mapping[str, Offer], *, version: str, root: str = ""
) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the API: one operation per query and per suffix.

    :param suffixes: the representation each path suffix (``.csv``…) stands for.
    :param version: the release served, as the document's version.
    :param root: the application root, the document's server URL.
    """
    paths: dict[str, Any] = {
        "/api/queries": {
            "get": {
                "operationId": "listQueries",
                "summary": "List the named queries",
                "description": "Title, description, parameters and links of every named query.",
                "tags": ["catalog"],
                "responses": {
                    "200": {
                        "description": "The list of named queries.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Index"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "406": {"$ref": "#/components/responses/NotAcceptable"},
                },
            }
        },
    }
    schemas: dict[str, Any] = dict(_SCHEMAS)
    for query in queries:
        record = _camel(query.name) + "Record"
        schemas[record] = {
            "type": "object",
            "description": f"One row of {query.name}; an unbound variable is null.",
            "properties": {v: {"$ref": "#/components/schemas/Value"} for v in query.variables},
            "required": list(query.variables),
            "additionalProperties": False,
        }
        content = {
            JSON_RESULTS.media_type: {"schema": {"$ref": "#/components/schemas/SparqlResults"}},
            RECORDS_MEDIA_TYPE: {
                "schema": {"type": "array", "items": {"$ref": f"#/components/schemas/{record}"}}
            },
            XML_RESULTS.media_type: {"schema": {"type": "string"}},
            CSV_RESULTS.media_type: {"schema": {"type": "string"}},
            TSV_RESULTS.media_type: {"schema": {"type": "string"}},
        }
        paths[f"/api/queries/{query.name}"] = {
            "get": _operation(query, _camel(query.name), content, negotiated=True)
        }
        for suffix, offer in suffixes.items():
            paths[f"/api/queries/{query.name}.{suffix}"] = {
                "get": _operation(
                    query,
                    f"{_camel(query.name)}As{suffix.capitalize()}",
                    {offer.media_type: content[offer.media_type]},
                    negotiated=False,
                )
            }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ESCP-4i Knowledge Graph: named queries",
            "version": version,
            "summary": "The questions the ESCP-4i knowledge graph answers, as an HTTP API.",
            "description": (
                "Each operation runs one named query (a file of `queries/`) with typed "
                "parameters, bound as RDF terms. Answers come as SPARQL JSON (the default), "
                "a JSON array of records, SPARQL XML, CSV or TSV: by `Accept`, or by a suffix "
                "on the path (`.srj`, `.json`, `.srx`, `.csv`, `.tsv`). Errors are RFC 9457 "
                "problem details."
            ),
            "license": {
                "name": "CC BY 4.0 (the data)",
                "url": "https://creativecommons.org/licenses/by/4.0/",
            },
        },
        "servers": [{"url": root or "/"}],
        "tags": sorted(
            ({"name": t} for t in {"catalog", *(t for q in queries for t in q.tags)}),
            key=lambda tag: tag["name"],
        ),
        "paths": paths,
        "components": {"schemas": schemas, "responses": _RESPONSES},
    }


def parameter_schema(parameter: Parameter) -> dict[str, Any]:
    """Return the JSON Schema of a parameter's request value.

    >>> parameter_schema(Parameter("q", "string"))
    {'type': 'string', 'minLength': 1, 'maxLength': 500}
    >>> parameter_schema(Parameter("n", "integer", default="2"))
    {'type': 'integer', 'default': 2}
    """
    schema: dict[str, Any]
    if parameter.type == "iri":
        schema = {"type": "string", "format": "iri", "pattern": IRI_PATTERN}
    elif parameter.type == "string":
        schema = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    elif parameter.type == "integer":
        schema = {"type": "integer"}
    elif parameter.type == "decimal":
        schema = {"type": "string", "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"}
    elif parameter.type == "date":
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "boolean"}
    if parameter.enum:
        schema = {"type": "string", "enum": list(parameter.enum)}
    if parameter.default is not None:
        schema["default"] = _json_value(parameter.type, parameter.default)
    return schema


def _operation(
    query: NamedQuery, operation_id: str, content: dict[str, Any], *, negotiated: bool
) -> dict[str, Any]:
    how = "chosen by `Accept`" if negotiated else "fixed by the suffix"
    responses: dict[str, Any] = {
        "200": {"description": f"The answer, in the representation {how}.", "content": content},
        "400": {"$ref": "#/components/responses/BadRequest"},
    }
    if negotiated:
        responses["406"] = {"$ref": "#/components/responses/NotAcceptable"}
    return {
        "operationId": operation_id,
        "summary": query.title,
        "description": query.description,
        "tags": list(query.tags) or ["catalog"],
        "parameters": [_openapi_parameter(p) for p in query.parameters],
        "responses": responses,
    }


def _openapi_parameter(parameter: Parameter) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": parameter.name,
        "in": "query",
        "required": parameter.required,
        "schema": parameter_schema(parameter),
    }
    if parameter.description:
        entry["description"] = parameter.description
    if parameter.example is not None:
        entry["example"] = _json_value(parameter.type, parameter.example)
    return entry


def _json_value(type_: str, value: str) -> Any:
    if type_ == "integer":
        return int(value)
    if type_ == "boolean":
        return value.lower() in ("true", "1")
    return value


def _camel(name: str) -> str:
    """Return an operation id for a kebab-case name.

    >>> _camel("partnerships-per-sector")
    'partnershipsPerSector'
    """
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


_VALUE: Final = {
    "description": "A term's value: text for IRIs and most literals, typed for numbers and "
    "booleans, null when unbound.",
    "type": ["string", "number", "boolean", "null"],
}
_TERM: Final = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {
        "type": {"enum": ["uri", "literal", "bnode", "triple"]},
        "value": {},
        "datatype": {"type": "string"},
        "xml:lang": {"type": "string"},
    },
}
_SCHEMAS: Final[dict[str, Any]] = {
    "Value": _VALUE,
    "Term": _TERM,
    "SparqlResults": {
        "type": "object",
        "description": "SPARQL 1.1 Query Results JSON Format.",
        "required": ["head", "results"],
        "properties": {
            "head": {
                "type": "object",
                "required": ["vars"],
                "properties": {"vars": {"type": "array", "items": {"type": "string"}}},
            },
            "results": {
                "type": "object",
                "required": ["bindings"],
                "properties": {
                    "bindings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": {"$ref": "#/components/schemas/Term"},
                        },
                    }
                },
            },
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "parameter": {"type": "string"},
            "offers": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Index": {
        "type": "object",
        "required": ["queries", "links"],
        "properties": {
            "queries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "title", "description", "parameters", "links"],
                    "properties": {
                        "name": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "parameters": {"type": "array", "items": {"type": "object"}},
                        "variables": {"type": "array", "items": {"type": "string"}},
                        "links": {"type": "object"},
                    },
                },
            },
            "links": {"type": "object"},
        },
    },
}
_PROBLEM_CONTENT: Final = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}
_RESPONSES: Final[dict[str, Any]] = {
    "BadRequest": {
        "description": "A parameter is unknown, repeated, missing or not of its type; "
        "`parameter` names it.",
        "content": _PROBLEM_CONTENT,
    },
    "NotAcceptable": {
        "description": "No representation on offer satisfies `Accept`; `offers` lists them.",
        "content": _PROBLEM_CONTENT,
    },
}
