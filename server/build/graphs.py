"""The graphs the converter writes, one per data file, and the IRIs it mints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from rdflib import Graph

from server.vocab import bind_families, family_namespace

PARTNERSHIP: Final = family_namespace("partnership")
CLUSTER: Final = family_namespace("cluster")
MEMBERSHIP: Final = family_namespace("membership")
CONTINUITY: Final = family_namespace("continuity")
COUNTRY: Final = family_namespace("country")
REGION: Final = family_namespace("region")
SECTOR: Final = family_namespace("sector")
FIGURE: Final = family_namespace("figure")
GENERATION_1: Final = family_namespace("generation")["escp-4i-1"]
GENERATION_2: Final = family_namespace("generation")["escp-4i-2"]
CALL_2016: Final = family_namespace("call")["cos-clusint-2016-03-01"]
LABEL_ESCP4I: Final = family_namespace("label")["escp-4i"]


@dataclass
class Graphs:
    """One rdflib graph per data file stem, made on first use with the project's prefixes."""

    by_name: dict[str, Graph] = field(default_factory=dict)

    def __call__(self, name: str) -> Graph:
        if name not in self.by_name:
            self.by_name[name] = bind_families(Graph(bind_namespaces="none"))
        return self.by_name[name]
