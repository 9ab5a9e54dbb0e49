"""The release's search index: what it holds, how it ranks, and the files it refuses."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.build import indexer
from server.build.info import BuildInfo
from server.build.searchindex import FILE, SearchIndex, SearchIndexError, fold, for_release
from server.vocab import DEFAULT_BASE_IRI, sparql_prefixes

_KINDS = """
SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {
  { ?r a escp:Partnership } UNION { ?r a escp:ClusterOrganisation } UNION { ?r a escp:Country }
  UNION { ?r a escp:Region } UNION { ?r skos:inScheme <https://w3id.org/escp4i/id/sector> }
  ?r rdfs:label ?label .
}
"""


@pytest.fixture(scope="module")
def index(built: BuildInfo) -> SearchIndex:
    return SearchIndex(Path(built.path) / FILE)


def test_every_named_resource_of_the_searched_kinds_is_indexed(
    built: BuildInfo, tmp_path: Path
) -> None:
    store = ox.Store.read_only(str(Path(built.path) / "store"))
    result = store.query(
        sparql_prefixes(DEFAULT_BASE_IRI) + _KINDS, use_default_graph_as_union=True
    )
    assert isinstance(result, ox.QuerySolutions)
    expected = int(next(iter(result))["n"].value)
    record = indexer.write(
        store, tmp_path / FILE, base_iri=DEFAULT_BASE_IRI, content_hash=built.content_hash
    )
    data = (tmp_path / FILE).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert record == {"name": FILE, "bytes": len(data), "sha256": digest, "documents": expected}
    # Written twice from one store, the index is the same bytes: a release's file is stable.
    assert (tmp_path / FILE).read_bytes() == (Path(built.path) / FILE).read_bytes()


def test_search_ranks_whole_names_then_starts_then_word_starts_then_the_rest(
    index: SearchIndex,
) -> None:
    page = index.search("aero", limit=1000)
    ranks = [h.rank for h in page.hits]
    assert ranks == sorted(ranks) and page.total == len(page.hits)
    for hit in page.hits:
        names = [fold(n.value) for n in hit.names]
        if hit.rank == 1:
            assert any(n.startswith("aero") for n in names)
        elif hit.rank == 2:
            assert not any(n.startswith("aero") for n in names)
            assert any(" aero" in " " + n.replace("(", " ") for n in names)
        else:
            assert hit.rank == 3 and not any(n.startswith("aero") for n in names)
    whole = index.search(page.hits[0].label.value)
    assert whole.hits[0].rank == 0 and whole.hits[0].iri == page.hits[0].iri


@pytest.mark.parametrize("query", ['"', '""', 'a"b', "*", "NEAR(x)", "AND", "^", "(", "é"])
def test_fts_syntax_in_a_query_is_text(index: SearchIndex, query: str) -> None:
    page = index.search(query, limit=1000)
    assert all(
        all(w in "\n".join(fold(n.value) for n in h.names) for w in fold(query).split())
        for h in page.hits
    )
    assert all(fold(query) in fold(name.value) for _, name in index.phrase(query))


def test_pages_split_the_results_without_overlap(index: SearchIndex) -> None:
    everything = index.search("a", limit=10_000).hits
    pages = [index.search("a", limit=7, offset=o).hits for o in range(0, len(everything), 7)]
    assert [h.iri for page in pages for h in page] == [h.iri for h in everything]
    assert index.search("a", limit=7, offset=len(everything)).total == len(everything)


def test_an_index_of_another_release_or_no_index_is_not_used(
    built: BuildInfo, tmp_path: Path
) -> None:
    folder = Path(built.path)
    assert for_release(built.content_hash, folder, tmp_path) is not None
    assert for_release("0" * 64, folder, tmp_path) is None
    # A remote backend has no build folder: the data folder's builds are looked through.
    assert for_release(built.content_hash, None, folder.parents[1]) is not None
    assert for_release(built.content_hash, None, tmp_path / "missing") is None
    empty = tmp_path / "build"
    empty.mkdir()
    assert for_release(built.content_hash, empty, tmp_path) is None


def test_a_file_that_is_no_index_is_refused(built: BuildInfo, tmp_path: Path) -> None:
    (tmp_path / FILE).write_bytes(b"not a database")
    with pytest.raises(SearchIndexError):
        SearchIndex(tmp_path / FILE)
    assert for_release(built.content_hash, tmp_path, tmp_path) is None
    shutil.copy(Path(built.path) / FILE, tmp_path / "copy.sqlite")
    assert SearchIndex(tmp_path / "copy.sqlite").content_hash == built.content_hash
