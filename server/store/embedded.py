"""The embedded backend: the build's pyoxigraph store, opened read-only in this process."""

from __future__ import annotations

import logging
from pathlib import Path

import pyoxigraph as ox

from server.build.info import BuildInfo, current_build, mark_served

from .backend import Dataset, QueryResult, Substitutions
from .screen import dataset_options

log = logging.getLogger(__name__)


class EmbeddedStore:
    """A pyoxigraph store written by ``escp4i build``, opened read-only."""

    def __init__(self, build_dir: Path) -> None:
        self._build_dir = build_dir
        self._info = BuildInfo.load(build_dir)
        # Read-only opens let several server workers share one build (RocksDB LOCK).
        self._store = ox.Store.read_only(str(build_dir / "store"))
        self._marker = mark_served(build_dir)
        log.info("opened release %s at %s", self._info.release, build_dir)

    @classmethod
    def current(cls, data_dir: Path) -> EmbeddedStore:
        """Open the build that ``data_dir/current`` points at."""
        build_dir = current_build(data_dir)
        if build_dir is None:
            raise FileNotFoundError(f"no store built in {data_dir}: run `escp4i build` first")
        return cls(build_dir)

    @property
    def info(self) -> BuildInfo:
        return self._info

    @property
    def store(self) -> ox.Store:
        return self._store

    @property
    def build_dir(self) -> Path:
        """The build folder; its ``store`` subfolder is what query workers open."""
        return self._build_dir

    def query(
        self,
        text: str,
        *,
        substitutions: Substitutions | None = None,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        dataset = dataset or Dataset()
        kwargs: dict[str, object] = {
            "base_iri": base_iri,
            **dataset_options(text, dataset.default_graphs, dataset.named_graphs),
        }
        if substitutions:
            kwargs["substitutions"] = dict(substitutions)
        return self._store.query(text, **kwargs)  # type: ignore[arg-type]  # kwargs typed loosely on purpose

    def close(self) -> None:
        del self._store
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
