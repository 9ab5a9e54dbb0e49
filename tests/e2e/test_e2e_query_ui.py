"""The query page in headless Chromium: YASGUI from this server only, an example chosen and run."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright
from servers import Server, data_dir, start_app_server

from server.build.info import BuildInfo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Schemes that fetch nothing from a network.
LOCAL_SCHEMES = ("data", "blob", "about")


@pytest.fixture(scope="module")
def site(built: BuildInfo) -> Iterator[Server]:
    """The production server (`escp4i serve`) over the session build, stopped by PID."""
    with start_app_server({"ESCP_DATA_DIR": data_dir(built)}, args=["--workers", "1"]) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright; no browser is downloaded."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def _adpack_members() -> list[str]:
    with (ROOT / "data/sources/escp4i-gen1-members-partial.csv").open(encoding="utf-8") as f:
        return [
            r["cluster_name"] for r in csv.DictReader(f) if r["partnership_acronym"] == "AdPack"
        ]


def _open(page: Page, url: str) -> list[str]:
    """Open the query page, recording every URL the page requests; fail on a script error."""
    requested: list[str] = []
    errors: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The pages run under a Content-Security-Policy: a violation is a console error.
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(url, wait_until="networkidle")
    page.wait_for_selector("body[data-ready='true']")
    assert errors == []
    return requested


def test_query_page_loads_from_this_server_only(site: Server, page: Page) -> None:
    requested = _open(page, site.url + "/sparql")
    assert any(url.endswith("/static/vendor/yasgui/yasgui.min.js") for url in requested)
    for url in requested:
        parts = urlsplit(url)
        assert parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1", url
    # A real editor: CodeMirror with SPARQL highlighting, a results area, prefixes known.
    assert page.locator(".yasqe .CodeMirror").count() == 1
    assert page.locator(".yasqe .cm-keyword").count() > 0
    assert page.locator(".yasr").count() == 1
    options = page.locator("#example option")
    assert options.count() == len(list((ROOT / "queries").glob("*.rq")))


def test_choosing_an_example_and_running_it_shows_its_rows(site: Server, page: Page) -> None:
    requested = _open(page, site.url + "/sparql")
    page.select_option("#example", "partnership-members")
    assert page.locator("#example-title").inner_text() == "Members of one partnership"
    assert "coordinator first" in page.locator("#example-description").inner_text()
    api = page.locator("#example-api").get_attribute("href")
    assert api is not None and api.startswith("/api/queries/partnership-members?partnership=")
    assert page.url.endswith("#example=partnership-members")
    editor = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    assert "VALUES (?partnership)" in editor and "/partnership/adpack>" in editor

    page.locator(".yasqe_queryButton").click()
    rows = page.locator(".yasr table.dataTable tbody tr")
    rows.first.wait_for()
    members = _adpack_members()
    assert rows.count() == len(members)
    table = page.locator(".yasr table.dataTable tbody").inner_text()
    for name in members:
        assert name in table
    assert page.locator(".yasr_downloadIcon, .yasr_btn[title*='ownload']").count() >= 1

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "query-ui.png"), full_page=True)
    for url in requested:
        parts = urlsplit(url)
        assert parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1", url


def test_api_link_leads_back_to_the_example_in_the_editor(site: Server, page: Page) -> None:
    page.goto(site.url + "/api/queries", wait_until="networkidle")
    page.locator("#search a", has_text="open in the query editor").click()
    page.wait_for_selector("body[data-ready='true']")
    assert page.url.endswith("/sparql#example=search")
    assert page.locator("#example").input_value() == "search"
    assert page.locator("#example-title").inner_text() == "Search by name"
