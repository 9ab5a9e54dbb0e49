"""SPARQL texts several test modules send, written once."""

from __future__ import annotations

from typing import Final

#: Runs for hours: five copies of every triple, joined with nothing, and sorted.
RUNAWAY: Final = (
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o } ORDER BY ?a ?f ?k ?o"
)
#: Runs for hours in flat memory (50 MB, measured): four copies of every triple, counted. A
#: test that needs a query to reach its deadline uses this: RUNAWAY's sort can reach the
#: query process's memory cap first on a fast machine, and end by SIGABRT.
SPINNER: Final = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
#: Different at each evaluation (SPARQL 1.1 §17.4): no cache may replay its answer.
VOLATILE: Final = "SELECT (RAND() AS ?r) (STRUUID() AS ?u) (NOW() AS ?t) WHERE {}"
