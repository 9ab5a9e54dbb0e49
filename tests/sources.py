"""The sourced tables the graph is built from, read for expected answers (never hard-coded)."""

from __future__ import annotations

import csv
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"


def table(path: Path) -> list[dict[str, str]]:
    """Return the rows of a CSV file (a source table or a mapping)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rows(name: str) -> list[dict[str, str]]:
    """Return the rows of one CSV file of data/sources/."""
    return table(SOURCES / name)


def partnership_rows() -> list[dict[str, str]]:
    """Return the partnership rows of both generations, first generation first."""
    return rows("escp4i-gen1-partnerships.csv") + rows("escp4i-gen2-partnerships.csv")
