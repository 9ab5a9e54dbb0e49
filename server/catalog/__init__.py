"""Named queries: load ``queries/*.rq``, check their headers, bind typed parameters.

Pure (no Flask): the build describes the queries from here and the web serves them.
"""

from __future__ import annotations

from .graph import examples_graph
from .loader import load, parse_file, rebase_text, split_header
from .model import (
    MAX_STRING,
    TYPES,
    Catalog,
    CatalogError,
    NamedQuery,
    Parameter,
    Term,
    bind,
    coerce,
    values_block,
)

__all__ = [
    "MAX_STRING",
    "TYPES",
    "Catalog",
    "CatalogError",
    "NamedQuery",
    "Parameter",
    "Term",
    "bind",
    "coerce",
    "examples_graph",
    "load",
    "parse_file",
    "rebase_text",
    "split_header",
    "values_block",
]
