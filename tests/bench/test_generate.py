"""The benchmark's seeded generator: the real data's shape, at a multiple of its size."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyoxigraph as ox

from bench import generate
from server.build.info import BuildInfo

ESCP = "https://w3id.org/escp4i/def#"
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _real(built: BuildInfo) -> ox.Store:
    return ox.Store.read_only(str(Path(built.path) / "store"))


def _typed(quads: list[ox.Quad], cls: str) -> int:
    return sum(1 for q in quads if q.predicate == TYPE and q.object == ox.NamedNode(ESCP + cls))


def test_copies_scale_partnerships_clusters_and_memberships_but_not_stated_figures(
    built: BuildInfo,
) -> None:
    real = _real(built)
    data = list(real.quads_for_pattern(None, None, None, generate.DATA_GRAPH))
    scaled = list(generate.synthetic_quads(real, 3))
    for cls in ("Partnership", "ClusterOrganisation"):
        assert _typed(scaled, cls) == 3 * _typed(data, cls) > 0
    membership = ox.NamedNode("http://www.w3.org/ns/org#Membership")
    assert sum(q.object == membership for q in scaled) == 3 * sum(
        q.object == membership for q in data
    )
    assert _typed(scaled, "StatedFigure") == _typed(data, "StatedFigure") > 0
    # Copy 0 is the real data graph unchanged, and no quad is written twice.
    assert set(scaled) >= set(data)
    duplicates = [q for q, n in Counter(scaled).items() if n > 1]
    assert duplicates == []


def test_the_generator_is_seeded_and_draws_from_the_real_values(built: BuildInfo) -> None:
    real = _real(built)
    first = list(generate.synthetic_quads(real, 2))
    assert first == list(generate.synthetic_quads(real, 2))
    assert first != list(generate.synthetic_quads(real, 2, seed=7))
    countries = {
        q.object for q in real.quads_for_pattern(None, ox.NamedNode(generate.COUNTRY), None)
    }
    copied = {q.object for q in first if q.predicate == ox.NamedNode(generate.COUNTRY)}
    assert copied <= countries


def test_a_scaled_dump_loads_into_a_store_of_every_quad(built: BuildInfo, tmp_path: Path) -> None:
    dump = generate.write_scaled_dump(Path(built.path) / "store", tmp_path, 2)
    with dump.open("rb") as lines_of:
        lines = sum(1 for _ in lines_of)
    loaded = generate.load_store(dump, tmp_path / "store")
    assert loaded == len(set(ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS))) <= lines
    assert loaded > len(_real(built))
