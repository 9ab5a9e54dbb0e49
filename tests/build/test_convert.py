"""The CSV-to-Turtle converter: deterministic, committed output current, loud on bad rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from server.build.convert import convert
from server.build.tables import ConversionError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "data" / "sources"
MAPPINGS = ROOT / "data" / "mappings"


def test_two_conversions_give_the_same_bytes() -> None:
    assert convert(SOURCES, MAPPINGS) == convert(SOURCES, MAPPINGS)


@pytest.mark.parametrize("name", sorted(convert(SOURCES, MAPPINGS)))
def test_committed_turtle_matches_a_fresh_conversion(name: str) -> None:
    fresh = convert(SOURCES, MAPPINGS)[name]
    committed = (ROOT / "data" / name).read_text(encoding="utf-8")
    assert committed == fresh, f"data/{name} is stale: run `./run convert` and commit"


def _copy_sources(tmp_path: Path) -> tuple[Path, Path]:
    src, maps = tmp_path / "sources", tmp_path / "mappings"
    src.mkdir()
    maps.mkdir()
    for path in SOURCES.glob("*.csv"):
        (src / path.name).write_bytes(path.read_bytes())
    for path in MAPPINGS.glob("*.csv"):
        (maps / path.name).write_bytes(path.read_bytes())
    return src, maps


def _edit(path: Path, row_index: int, **changes: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[row_index].update(changes)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "changes", "message"),
    [
        ("escp4i-gen1-members-partial.csv", {"country": "Atlantis"}, "country 'Atlantis'"),
        ("escp4i-gen1-partnerships.csv", {"funding": "lavish"}, "funding 'lavish'"),
        ("escp4i-gen1-partnerships.csv", {"target_markets": "Mars"}, "target market 'Mars'"),
        ("escp4i-gen1-partnerships.csv", {"start": "early 2016"}, "'early 2016'"),
        ("escp4i-gen1-partnerships.csv", {"source_urls": "see notes"}, "not an http(s) URL"),
        ("escp4i-gen1-members-partial.csv", {"role": "chair"}, "role 'chair'"),
        ("escp4i-gen1-members-partial.csv", {"partnership_acronym": "NOPE"}, "'NOPE'"),
        ("stated-figures.csv", {"value": "about 25"}, "'about 25'"),
        ("escp4i-gen1-partnerships.csv", {"evidence": "likely"}, "evidence 'likely'"),
        ("escp4i-gen2-partnerships.csv", {"evidence": ""}, "evidence ''"),
        ("escp4i-gen2-partnerships.csv", {"strand": "3"}, "strand '3'"),
        ("escp4i-gen2-partnerships.csv", {"call": "COS-XYZ"}, "call 'COS-XYZ'"),
        ("escp4i-gen2-members.csv", {"partnership_acronym": "AdPack"}, "'AdPack'"),
        ("escp4i-successors.csv", {"gen2_acronym": "AdPack"}, "gen2_acronym 'AdPack'"),
        ("escp4i-successors.csv", {"gen1_acronym": "AdPack2"}, "gen1_acronym 'AdPack2'"),
        ("escp4i-successors.csv", {"strength": "strong"}, "strength 'strong'"),
        ("escp4i-successors.csv", {"relation": "inspired"}, "relation 'inspired'"),
        ("stated-figures-gen2.csv", {"approximate": "roughly"}, "approximate 'roughly'"),
        ("stated-figures-gen2.csv", {"measure": "unmapped words"}, "'unmapped words'"),
        ("stated-figures-gen2.csv", {"value": "twenty"}, "'twenty'"),
    ],
)
def test_bad_source_row_stops_conversion_naming_file_and_line(
    tmp_path: Path, table: str, changes: dict[str, str], message: str
) -> None:
    src, maps = _copy_sources(tmp_path)
    _edit(src / table, 0, **changes)
    with pytest.raises(ConversionError) as caught:
        convert(src, maps)
    assert f"{table}:2" in str(caught.value)
    assert message in str(caught.value)


def test_missing_source_table_stops_conversion(tmp_path: Path) -> None:
    src, maps = _copy_sources(tmp_path)
    (src / "countries.csv").unlink()
    with pytest.raises(ConversionError, match="countries.csv: source table missing"):
        convert(src, maps)


def test_empty_field_produces_no_triple(tmp_path: Path) -> None:
    src, maps = _copy_sources(tmp_path)
    _edit(src / "escp4i-gen1-partnerships.csv", 1, grant_agreement="", website="")

    def ecca(text: str) -> str:
        return text.split("partnership:ecca\n", 1)[1].split("\n.\n", 1)[0]

    before = ecca(convert(SOURCES, MAPPINGS)["partnerships.ttl"])
    after = ecca(convert(src, maps)["partnerships.ttl"])
    assert 'escp:grantAgreement "690364"' in before
    assert "foaf:homepage" in before
    assert "escp:grantAgreement" not in after
    assert "foaf:homepage" not in after


@pytest.mark.parametrize(
    ("table", "index", "acronym", "other"),
    [
        # Across generations and within one: slugs fold case, accents and punctuation.
        (
            "escp4i-gen2-partnerships.csv",
            0,
            "ADPACK",
            "'AdPack' at escp4i-gen1-partnerships.csv:2",
        ),
        (
            "escp4i-gen1-partnerships.csv",
            1,
            "AdPäck",
            "'AdPack' at escp4i-gen1-partnerships.csv:2",
        ),
    ],
)
def test_partnerships_whose_slugs_collide_stop_conversion_naming_both_rows(
    tmp_path: Path, table: str, index: int, acronym: str, other: str
) -> None:
    src, maps = _copy_sources(tmp_path)
    _edit(src / table, index, acronym=acronym)
    with pytest.raises(ConversionError) as caught:
        convert(src, maps)
    message = str(caught.value)
    assert f"{table}:{index + 2}" in message
    assert "slug 'adpack'" in message
    assert other in message


def test_organisation_in_both_generations_is_one_cluster_with_both_memberships() -> None:
    out = convert(SOURCES, MAPPINGS)
    first = {r["cluster_name"] for r in _rows(SOURCES / "escp4i-gen1-members-partial.csv")}
    second = {r["cluster_name"] for r in _rows(SOURCES / "escp4i-gen2-members.csv")}
    both = first & second
    assert both, "the tables share organisations (the gen-2 NOTES list 17)"
    clusters = out["clusters.ttl"]
    for name in both:
        assert clusters.count(f'rdfs:label "{name}"@en') == 1, name


def test_unused_figure_mapping_row_stops_conversion(tmp_path: Path) -> None:
    src, maps = _copy_sources(tmp_path)
    rows = _rows(src / "stated-figures-gen2.csv")
    _write(src / "stated-figures-gen2.csv", rows[1:])
    with pytest.raises(ConversionError, match="measures not in stated-figures-gen2.csv"):
        convert(src, maps)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
