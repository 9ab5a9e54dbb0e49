"""Seeded synthetic graphs with the real data's shape, at a multiple of its size.

Copy ``k`` of the real data graph renames every partnership, cluster and membership
(``…/adpack`` becomes ``…/adpack-k7``) and, with a seeded random
generator, moves each copied cluster to a country and each copied partnership to
sectors and markets drawn from the real distributions. Countries, sectors, regions
and the concept schemes stay shared, as in the real graph, so joins fan out the
way they do on the real data. The stated figures are not copied: they are what the
sources say of the one real programme, and a bigger programme would still have a
handful of them (copying them made the key-figures query scale with their number).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox

BASE = "https://w3id.org/escp4i/"
RENAMED = tuple(f"{BASE}id/{f}/" for f in ("partnership", "cluster", "membership", "continuity"))
FIGURES = f"{BASE}id/figure/"
COUNTRY = f"{BASE}def#country"
SECTOR = f"{BASE}def#sector"
MARKET = f"{BASE}def#targetMarket"
DATA_GRAPH = ox.NamedNode(f"{BASE}graph/data")


def _rename(term: ox.NamedNode, k: int) -> ox.NamedNode:
    if k and term.value.startswith(RENAMED):
        return ox.NamedNode(f"{term.value}-k{k}")
    return term


def synthetic_quads(real: ox.Store, scale: int, seed: int = 20161) -> Iterator[ox.Quad]:
    """Yield the data graph ``scale`` times over, copy 0 being the real data unchanged."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    quads = list(real.quads_for_pattern(None, None, None, DATA_GRAPH))
    countries = [q.object for q in quads if q.predicate.value == COUNTRY]
    sectors = [q.object for q in quads if q.predicate.value == SECTOR]
    markets = [q.object for q in quads if q.predicate.value == MARKET]
    for k in range(scale):
        # Two draws for one partnership can hit the same market: a graph holds it once.
        drawn: set[tuple[object, ...]] = set()
        for q in quads:
            if k and isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(FIGURES):
                continue
            s = _rename(q.subject, k) if isinstance(q.subject, ox.NamedNode) else q.subject
            o = q.object
            if k and q.predicate.value == COUNTRY:
                o = rng.choice(countries)
            elif k and q.predicate.value == SECTOR:
                o = rng.choice(sectors)
            elif k and q.predicate.value == MARKET:
                o = rng.choice(markets)
            elif isinstance(o, ox.NamedNode):
                o = _rename(o, k)
            if k and s == q.subject and o == q.object:
                continue  # shared (a country's label…): copy 0 holds it already
            if (s, q.predicate, o) in drawn:
                continue
            drawn.add((s, q.predicate, o))
            yield ox.Quad(s, q.predicate, o, DATA_GRAPH)


def write_scaled_dump(real_store_dir: Path, out_dir: Path, scale: int) -> Path:
    """Write an N-Quads dump: every non-data graph of the real build and ``scale`` copies
    of its data graph."""
    real = ox.Store.read_only(str(real_store_dir))
    path = out_dir / f"escp4i-x{scale}.nq"
    others = [q for q in real.quads_for_pattern(None, None, None) if q.graph_name != DATA_GRAPH]
    with path.open("wb") as out:
        ox.serialize(others, out, format=ox.RdfFormat.N_QUADS)
        ox.serialize(synthetic_quads(real, scale), out, format=ox.RdfFormat.N_QUADS)
    return path


def load_store(dump: Path, store_dir: Path) -> int:
    """Bulk-load a dump into a new store (the timed part); return the number of quads."""
    store = ox.Store(str(store_dir))
    store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    store.flush()
    store.optimize()
    n = len(store)
    del store
    return n
