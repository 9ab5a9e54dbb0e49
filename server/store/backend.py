"""The backend seam: the one small protocol routes query, and the dataset a request names."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

import pyoxigraph as ox

from server.build.info import BuildInfo

from .jobs import QueryResult

log = logging.getLogger(__name__)

__all__ = ["Backend", "Dataset", "QueryResult", "Substitutions"]

Substitutions: TypeAlias = Mapping[ox.Variable, ox.NamedNode | ox.Literal]


@dataclass(frozen=True)
class Dataset:
    """An RDF dataset chosen by the request (SPARQL 1.1 Protocol 2.1.4); empty means default.

    With no graphs named, the query's FROM and FROM NAMED apply; with neither, the default
    graph is the union of all named graphs.
    """

    default_graphs: Sequence[str] = field(default_factory=tuple)
    named_graphs: Sequence[str] = field(default_factory=tuple)

    def is_default(self) -> bool:
        return not self.default_graphs and not self.named_graphs


class Backend(Protocol):
    """What routes may ask of the data, wherever it lives."""

    @property
    def info(self) -> BuildInfo:
        """The release being served."""
        ...

    def query(
        self,
        text: str,
        *,
        substitutions: Substitutions | None = None,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query; raise SyntaxError for a malformed one."""
        ...

    def close(self) -> None:
        """Release the resources the backend holds."""
        ...
