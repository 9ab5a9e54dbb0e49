"""Facets of /partnerships and /clusters: counts equal the named queries' answers over the store."""

from __future__ import annotations

import csv
import io
import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import html5lib
import pytest
from flask.testing import FlaskClient
from htmlcheck import check_html
from sources import rows

from server.vocab import DEFAULT_BASE_IRI

NS = "{http://www.w3.org/1999/xhtml}"
GENERATIONS = {
    "1": DEFAULT_BASE_IRI + "id/generation/escp-4i-1",
    "2": DEFAULT_BASE_IRI + "id/generation/escp-4i-2",
}
QUERY = {"partnerships": "partnerships", "clusters": "clusters"}
ROW_KEY = {"partnerships": "partnership", "clusters": "cluster"}


@dataclass(frozen=True)
class Option:
    facet: str
    label: str
    count: int
    href: str | None
    chosen: bool


def page(client: FlaskClient, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    text = response.get_data(as_text=True)
    assert check_html(text) == []
    return html5lib.parse(text)


def options(root: ET.Element) -> list[Option]:
    found = []
    for section in root.iter(f"{NS}section"):
        if "facet" not in (section.get("class") or "").split():
            continue
        facet = (section.get("aria-labelledby") or "").removeprefix("facet-")
        for li in section.iter(f"{NS}li"):
            link = li.find(f"{NS}a")
            holder = link if link is not None else li.find(f"{NS}span")
            assert holder is not None
            count = next(s for s in holder.iter(f"{NS}span") if s.get("class") == "count")
            label = (holder.text or "").strip()
            found.append(
                Option(
                    facet,
                    label,
                    int(count.text or "-1"),
                    link.get("href") if link is not None else None,
                    link is not None and link.get("aria-current") == "true",
                )
            )
    return found


def api_rows(client: FlaskClient, kind: str, args: dict[str, str]) -> list[dict[str, str]]:
    """The named query's answer, as CSV, for the IRIs of a page's selection."""
    response = client.get(f"/api/queries/{QUERY[kind]}.csv", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def selection_iris(client: FlaskClient, kind: str, href: str) -> dict[str, str]:
    """Turn a page URL's tokens into the named query's IRIs through the page's own download link."""
    root = page(client, href)
    download = next(
        a.get("href")
        for a in root.iter(f"{NS}a")
        if (a.get("href") or "").startswith(f"/api/queries/{QUERY[kind]}.csv")
    )
    assert download is not None
    return {k: v[0] for k, v in parse_qs(urlsplit(download).query).items()}


def listed(root: ET.Element) -> list[str]:
    """The resource links in the first column of the page's list table."""
    table = next(t for t in root.iter(f"{NS}table") if t.get("class") == "list")
    body = table.find(f"{NS}tbody")
    assert body is not None
    out = []
    for row in body.iter(f"{NS}tr"):
        head = row.find(f"{NS}th")
        assert head is not None
        link = head.find(f"{NS}a")
        assert link is not None
        out.append(link.get("href") or "")
    return out


@pytest.mark.parametrize("kind", ["partnerships", "clusters"])
@pytest.mark.parametrize("generation", [None, "1", "2"])
def test_every_facet_count_equals_the_named_query_with_that_value(
    client: FlaskClient, kind: str, generation: str | None
) -> None:
    base = f"/{kind}" + (f"?generation={generation}" if generation else "")
    shown = options(page(client, base))
    assert {o.facet for o in shown} >= {"sector", "market", "country"}
    assert all(not o.chosen for o in shown)
    for option in shown:
        assert option.href is not None and option.count > 0
        args = selection_iris(client, kind, option.href)
        assert option.facet in args
        rows = api_rows(client, kind, args)
        assert len({r[ROW_KEY[kind]] for r in rows}) == option.count, option


def test_without_a_selection_the_count_of_a_facet_is_the_list_of_its_value(
    client: FlaskClient,
) -> None:
    # Choosing a value lists exactly the partnerships the named query gives for it.
    for option in options(page(client, "/partnerships?generation=1")):
        assert option.href is not None
        root = page(client, option.href + "&page=1")
        args = selection_iris(client, "partnerships", option.href)
        expected = {r["partnership"] for r in api_rows(client, "partnerships", args)}
        shown = {DEFAULT_BASE_IRI + href.lstrip("/") for href in listed(root)}
        if option.count <= 50:  # one page of the list
            assert shown == expected, option
        chosen = [o for o in options(root) if o.chosen]
        assert [(o.facet, o.label, o.count) for o in chosen] == [
            (option.facet, option.label, option.count)
        ]


@pytest.mark.parametrize("kind", ["partnerships", "clusters"])
def test_combined_facets_count_what_the_named_query_gives_for_all_of_them(
    client: FlaskClient, kind: str
) -> None:
    first = options(page(client, f"/{kind}?generation=1"))
    by_facet = {
        f: [o for o in first if o.facet == f][:3]
        for f in ("funding", "sector", "market", "country")
    }
    checked = 0
    for a, b in itertools.combinations(by_facet, 2):
        for x, y in itertools.product(by_facet[a], by_facet[b]):
            assert x.href is not None
            second = [
                o for o in options(page(client, x.href)) if o.facet == b and o.label == y.label
            ]
            if not second:
                continue  # no item has both values: the value is not offered
            option = second[0]
            assert option.href is not None
            args = selection_iris(client, kind, option.href)
            assert {a, b} <= set(args)
            rows = api_rows(client, kind, args)
            assert len({r[ROW_KEY[kind]] for r in rows}) == option.count
            checked += 1
    assert checked >= 10


def test_a_chosen_value_can_be_removed_and_the_selection_cleared(client: FlaskClient) -> None:
    sector = next(o for o in options(page(client, "/partnerships")) if o.facet == "sector")
    assert sector.href is not None
    market = next(o for o in options(page(client, sector.href)) if o.facet == "market")
    assert market.href is not None
    root = page(client, market.href)
    chips = [s for s in root.iter(f"{NS}span") if s.get("class") == "chip"]
    assert len(chips) == 2
    removes = [c.find(f"{NS}a") for c in chips]
    hrefs = [r.get("href") for r in removes if r is not None]
    assert len(hrefs) == 2
    kept = [parse_qs(urlsplit(h or "").query) for h in hrefs]
    assert sorted(map(sorted, kept)) == [["market"], ["sector"]]
    clear = next(a for a in root.iter(f"{NS}a") if (a.text or "").strip() == "Clear all")
    assert clear.get("href") == "/partnerships"


def test_the_download_link_gives_the_rows_of_the_page(client: FlaskClient) -> None:
    country = next(
        o for o in options(page(client, "/clusters?generation=1")) if o.facet == "country"
    )
    assert country.href is not None
    root = page(client, country.href)
    links = {a.text: a.get("href") for a in root.iter(f"{NS}a") if a.text in ("CSV", "JSON")}
    assert set(links) >= {"CSV", "JSON"}
    csv_rows = list(csv.DictReader(io.StringIO(client.get(links["CSV"]).get_data(as_text=True))))
    records = client.get(links["JSON"]).get_json()
    shown = {DEFAULT_BASE_IRI + h.lstrip("/") for h in listed(root)}
    assert {r["cluster"] for r in csv_rows} == shown == {r["cluster"] for r in records}
    assert len(shown) == country.count


def test_an_empty_selection_says_so_and_offers_to_widen_it(client: FlaskClient) -> None:
    # No source states the funding type of a second-generation partnership.
    rows = api_rows(
        client,
        "partnerships",
        {"generation": GENERATIONS["2"], "funding": DEFAULT_BASE_IRI + "id/funding/co-funded"},
    )
    assert rows == []
    root = page(client, "/partnerships?generation=2&funding=co-funded")
    status = next(d for d in root.iter(f"{NS}div") if d.get("role") == "status")
    text = "".join(status.itertext())
    assert "No partnership matches" in text
    widen = [a.get("href") or "" for a in status.iter(f"{NS}a")]
    assert "/partnerships?generation=2" in widen
    assert "/partnerships?funding=co-funded" in widen
    for href in widen:
        assert listed(page(client, href)), href


def test_pages_keep_the_selection(client: FlaskClient, app: object) -> None:
    response = client.get("/partnerships?sector=packaging&page=1")
    assert response.status_code == 200
    assert "sector=packaging" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/partnerships?sector=no-such-sector", "is not a sector"),
        ("/partnerships?country=zz", "is not a member country"),
        ("/clusters?market=%3Cscript%3E", "is not a target market"),
        ("/partnerships?sector=packaging&sector=food", "at most one sector"),
        ("/clusters?funding=voluntary&funding=co-funded", "at most one funding"),
    ],
)
def test_a_bad_facet_value_is_a_400_naming_it(client: FlaskClient, url: str, message: str) -> None:
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


def test_the_countries_list_has_no_facets(client: FlaskClient) -> None:
    assert options(page(client, "/countries")) == []


# -- the clusters named query against the source tables ----------------------------------------

MEMBERS = {"1": "escp4i-gen1-members-partial.csv", "2": "escp4i-gen2-members.csv"}
PARTNERSHIP_TABLES = {"1": "escp4i-gen1-partnerships.csv", "2": "escp4i-gen2-partnerships.csv"}


def _expected_clusters(generation: str, country: str | None, sector: str | None) -> set[str]:
    partnerships = rows(PARTNERSHIP_TABLES[generation])
    with_sector = {
        p["acronym"]
        for p in partnerships
        if sector is None or sector in [s.strip() for s in p["sectors"].split(";")]
    }
    return {
        m["cluster_name"]
        for m in rows(MEMBERS[generation])
        if m["partnership_acronym"] in with_sector and (country is None or m["country"] == country)
    }


@pytest.mark.parametrize(
    ("generation", "country", "sector"),
    [("1", "France", None), ("1", None, "packaging"), ("2", "Germany", None), ("1", None, None)],
)
def test_clusters_query_matches_the_member_tables(
    client: FlaskClient, generation: str, country: str | None, sector: str | None
) -> None:
    args = {"generation": GENERATIONS[generation]}
    if country:
        code = next(c["iso3166_alpha2"] for c in rows("countries.csv") if c["name_en"] == country)
        args["country"] = DEFAULT_BASE_IRI + "id/country/" + code.lower()
    if sector:
        args["sector"] = DEFAULT_BASE_IRI + "id/sector/" + sector
    found = {r["label"] for r in api_rows(client, "clusters", args)}
    expected = _expected_clusters(generation, country, sector)
    assert expected and found == expected
