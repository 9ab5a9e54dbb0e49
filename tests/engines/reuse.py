"""What the engine tests share: starting each engine, and taking the tests they reuse."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from servers import Server, start_comunica, start_virtuoso

from server.build.info import BuildInfo
from server.settings import DEFAULTS
from server.store import remote
from server.store.embedded import EmbeddedStore

ROOT = Path(__file__).resolve().parents[2]
# The reused test modules are imported by their file names, as pytest itself imports them.
for _folder in ("web", "store"):
    if str(ROOT / "tests" / _folder) not in sys.path:
        sys.path.append(str(ROOT / "tests" / _folder))

ENGINES = ("virtuoso", "comunica")
#: Virtuoso's administrator in a fresh database, for its Graph Store endpoint.
VIRTUOSO_USER = ("dba", "dba")


@dataclass(frozen=True)
class Engine:
    """A running engine: its query endpoint, dialect and, if it has one, Graph Store."""

    name: str
    query_url: str
    dialect: str
    graph_store: str | None
    server: Server

    def backend(
        self, timeout: float = float(DEFAULTS["QUERY_TIMEOUT"])
    ) -> remote.SparqlEndpointStore:
        return remote.SparqlEndpointStore(self.query_url, timeout=timeout, dialect=self.dialect)


def start_engine(name: str, store: EmbeddedStore, built: BuildInfo, folder: Path) -> Engine:
    """Start an engine with the build: Virtuoso loads it through its Graph Store, Comunica
    serves the dump."""
    if name == "virtuoso":
        server = start_virtuoso(folder)
        graph_store = server.url + "/sparql-graph-crud-auth"
        try:
            user, password = VIRTUOSO_USER
            remote.load(store.store, graph_store, user=user, password=password)
        except BaseException:
            server.stop()
            raise
        # Virtuoso is told by its replies: the app needs no dialect setting for it.
        return Engine(name, server.url + "/sparql", "auto", graph_store, server)
    dump = Path(built.path) / "dumps" / "escp4i-all.nq"
    server = start_comunica([dump])
    return Engine(name, server.url + "/sparql", "comunica", None, server)


def reused_tests(
    module: ModuleType, fixtures: set[str], *, skip: Mapping[str, str] = {}
) -> dict[str, Any]:
    """Return the test functions of a module that use any of the given fixtures.

    :param skip: names of tests not to take, each with the reason (said where it is used).
    """
    found = {}
    for name, function in vars(module).items():
        if not name.startswith("test_") or not callable(function) or name in skip:
            continue
        if fixtures & set(inspect.signature(function).parameters):
            found[name] = function
    return found


#: Reused tests an engine fails for a reason of its own, each run as a strict xfail: the
#: test must still fail there, so a difference that goes away is noticed. The README's
#: engine table lists the same.
_SAME_ANSWER = "test_named_query_gives_the_same_answer_on_both_backends"
_POSITION = "test_get_sparql_with_syntax_error_returns_400_with_position"
_POINTS = "test_remote_syntax_error_points_at_the_users_line"
_NO_BUILD = "the remote backend has no local build folder: no dump files, no validation report"
DIFFERS: Mapping[str, Mapping[str, str]] = {
    "virtuoso": {
        _POSITION: "its syntax errors name the line, never the column",
        _POINTS: "its syntax errors read 'line N:', not 'at N:M'",
        "test_post_sparql_query_in_latin1_returns_415": "its SPARQL refuses non-ASCII variables",
        f"{_SAME_ANSWER}[clusters]": "its compiler refuses a valid GROUP BY (SP031), a 400",
        f"{_SAME_ANSWER}[lineage]": "its compiler fails on the query (SQ156 Bad dfe), a 500",
        # Known upstream: openlink/virtuoso-opensource#475 (open since 2015).
        f"{_SAME_ANSWER}[key-figures]": "it divides integers as integers: coverage 61, not 61.5",
        f"{_SAME_ANSWER}[partnerships-per-target-market]": "it gives booleans as 0 and 1",
        f"{_SAME_ANSWER}[search]": "its string functions do not fold accents ('pôle' ≠ 'Pole')",
        "test_dataset_page_shows_release_dumps_and_validation": _NO_BUILD,
        "test_validation_report_is_published_as_html_and_turtle": _NO_BUILD,
    },
    "comunica": {
        _POSITION: "its syntax errors name the line, never the column",
        _POINTS: "its syntax errors read 'line N:', not 'at N:M'",
        "test_named_graph_uri_restricts_the_named_graphs": "no FROM NAMED: a 400 naming the limit",
        "test_default_graph_uri_alone_leaves_no_named_graphs": "GRAPH under FROM hangs: a 400",
        f"{_SAME_ANSWER}[key-figures]": "86 rows, not 23: coverage over 100 % (106.7, 120)",
        f"{_SAME_ANSWER}[lineage]": "no shared clusters gives '', where Oxigraph leaves it unbound",
        "test_dataset_page_shows_release_dumps_and_validation": _NO_BUILD,
        "test_validation_report_is_published_as_html_and_turtle": _NO_BUILD,
    },
}
#: Reused tests an engine fails in some runs and not others: non-strict xfails, which say
#: each time whether the difference showed.
VARIES: Mapping[str, Mapping[str, str]] = {
    "comunica": {
        # Seen failing alone, three runs of three, and passing after the other named queries.
        f"{_SAME_ANSWER}[partnerships]": "its members column held funding-type IRIs, not counts",
    },
}
#: Reused tests not run on an engine because they take too long there (seconds a page).
TOO_SLOW: Mapping[str, Mapping[str, str]] = {
    "comunica": {
        "test_every_iri_of_the_release_resolves": "every IRI of the release, ~4 s a page",
        "test_get_minted_iri_as_turtle_states_its_type": "one page per kind, ~4 s a page",
        "test_get_minted_iri_as_html_is_a_valid_page_naming_it": "one page per kind",
    },
}
