"""Every data table on the pages links the same rows as CSV through the API."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import html5lib
import pytest
from flask.testing import FlaskClient

NS = "{http://www.w3.org/1999/xhtml}"

#: Pages whose every table is a data table with a CSV link; the landing page lists the
#: start of each list (its CSV has at least the rows shown), the others show every row.
PAGES = [
    "/",
    "/partnerships",
    "/partnerships?generation=1&sector=packaging",
    "/clusters?generation=2",
    "/countries",
    "/figures",
    "/map?generation=1",
    "/network",
    "/id/partnership/adpack",
    "/id/cluster/balticnet-plasmatec-e-v",
    "/id/country/fr",
    "/id/sector/packaging",
    "/id/funding/voluntary",
]


def _tables_with_links(root: ET.Element) -> list[tuple[ET.Element, str | None]]:
    """Each table with the CSV link that follows it in its container, or None."""
    found = []
    parents = {child: parent for parent in root.iter() for child in parent}
    for table in root.iter(f"{NS}table"):
        holder = parents[table]
        if "table-wrap" in (holder.get("class") or ""):
            holder = parents[holder]
        siblings = list(holder)
        start = siblings.index(table if table in siblings else parents[table])
        link = None
        for element in siblings[start + 1 :]:
            if element.tag == f"{NS}table" or (
                element.tag == f"{NS}div" and element.find(f"{NS}table") is not None
            ):
                break
            if "csv-link" in (element.get("class") or ""):
                anchor = next((a for a in element.iter(f"{NS}a") if a.text == "CSV"), None)
                link = anchor.get("href") if anchor is not None else None
                break
        found.append((table, link))
    return found


@pytest.mark.parametrize("url", PAGES)
def test_every_table_links_its_rows_as_csv(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 200
    root = html5lib.parse(response.get_data(as_text=True))
    tables = _tables_with_links(root)
    assert tables, url
    for table, link in tables:
        caption = (
            "".join(table.find(f"{NS}caption").itertext())
            if table.find(f"{NS}caption") is not None
            else ""
        )
        assert link, f"{url}: no CSV link for the table {caption!r}"
        answer = client.get(link)
        assert answer.status_code == 200, (url, link)
        assert answer.mimetype == "text/csv"
        lines = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
        body = table.find(f"{NS}tbody")
        shown = len(body.findall(f"{NS}tr")) if body is not None else 0
        assert len(lines) - 1 >= shown, (url, caption, link)


@pytest.mark.parametrize(
    "url",
    ["/id/partnership/adpack", "/id/cluster/balticnet-plasmatec-e-v", "/id/country/fr"],
)
def test_resource_tables_csv_has_the_rows_of_the_table(client: FlaskClient, url: str) -> None:
    root = html5lib.parse(client.get(url).get_data(as_text=True))
    for table, link in _tables_with_links(root):
        assert link
        body = table.find(f"{NS}tbody")
        assert body is not None
        rows = list(csv.DictReader(io.StringIO(client.get(link).get_data(as_text=True))))
        keys = {next(iter(r.values())) for r in rows}
        assert len(keys) == len(body.findall(f"{NS}tr")), (url, link)
