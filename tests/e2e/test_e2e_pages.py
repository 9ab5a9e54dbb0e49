"""Linked-data pages on a running server: an RDF client, plain HTTP, and headless Chromium."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import ORG, OWL, RDF, RDFS, SKOS, VOID

from server.build.info import BuildInfo
from server.vocab import DEFAULT_BASE_IRI, ESCP, WD

pytestmark = pytest.mark.e2e

ROOT: Final = Path(__file__).resolve().parents[2]
ARTIFACTS: Final = ROOT / "tests" / "artifacts"
CHROMIUM: Final = "/usr/bin/chromium"
ID: Final = Namespace(DEFAULT_BASE_IRI + "id/")
DESKTOP: Final = {"width": 1280, "height": 900}
PHONE: Final = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(built: BuildInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the session build with ``escp4i serve`` on a free port; stop it by PID."""
    data_dir = Path(built.path).parents[1]  # <data dir>/builds/<build>
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "serve.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCP_")}
    command = [str(Path(sys.executable).with_name("escp4i")), "--data-dir", str(data_dir)]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/health", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright; no browser is downloaded."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `./run e2e-deps`")
    with sync_playwright() as playwright:
        yield _launch(playwright)


@dataclass
class Watched:
    """A page with what it logged and every host it tried to reach."""

    page: Page
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture()
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh page whose console errors and requests to other hosts are recorded."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = Watched(page)
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watch.foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    yield watch
    context.close()


# -- an RDF client dereferences minted IRIs ---------------------------------------------

DEREFERENCED: Final = [
    ("/id/partnership/adpack", (ID["partnership/adpack"], ORG.hasMember, ID["cluster/packbridge"])),
    ("/id/country/be", (ID["country/be"], OWL.sameAs, WD.Q31)),
    ("/id/cluster/lyonbiopole", (ID["cluster/lyonbiopole"], ESCP.country, ID["country/fr"])),
    (
        "/id/membership/adpack/packbridge",
        (ID["membership/adpack/packbridge"], ORG.role, ID["role/partner"]),
    ),
    ("/id/sector/packaging", (ID["partnership/adpack"], ESCP.sector, ID["sector/packaging"])),
    ("/id/region/south-america", (ID["region/south-america"], RDF.type, ESCP.Region)),
    (
        "/id/funding/co-funded",
        (ID["partnership/adpack"], ESCP.fundingType, ID["funding/co-funded"]),
    ),
    ("/id/figure/eccp-2018-countries", (ID["figure/eccp-2018-countries"], ESCP.value, Literal(23))),
    (
        "/id/call/cos-cluster-2014-3-03",
        (ID["call/cos-cluster-2014-3-03"], ESCP.programme, ID["programme/cosme"]),
    ),
    ("/id/generation/escp-4i-1", (ID["generation/escp-4i-1"], RDF.type, ESCP.Generation)),
    ("/id/sector", (ID["sector/packaging"], SKOS.inScheme, ID["sector"])),
    ("/dataset", (URIRef(DEFAULT_BASE_IRI + "dataset"), RDF.type, VOID.Dataset)),
    ("/graph/data", (ID["partnership/adpack"], ESCP.acronym, Literal("AdPack"))),
    ("/def#Partnership", (ESCP.Partnership, RDFS.subClassOf, ORG.OrganizationalCollaboration)),
]


@pytest.mark.parametrize(("path", "triple"), DEREFERENCED, ids=[p for p, _ in DEREFERENCED])
def test_rdflib_dereferences_minted_iri(
    server: str, path: str, triple: tuple[URIRef, URIRef, URIRef | Literal]
) -> None:
    g = Graph().parse(server + path)
    assert triple in g


def test_rdflib_gets_every_member_of_a_partnership(server: str) -> None:
    g = Graph().parse(server + "/id/partnership/adpack")
    members = {
        str(g.value(m, RDFS.label)) for m in g.objects(ID["partnership/adpack"], ORG.hasMember)
    }
    assert members == {
        "BalticNet-PlasmaTec e.V.",
        "InovCluster - Associacao do Cluster Agroindustrial do Centro",
        "Nanoprogress z.s.",
        "Packbridge",
        "Plastiwin",
    }


# -- plain HTTP: negotiation, suffixes, headers, errors, dumps ------------------------------


@pytest.mark.parametrize(
    ("accept", "suffix", "media_type", "parser"),
    [
        ("text/turtle", "", "text/turtle", "turtle"),
        ("application/n-triples", "", "application/n-triples", "nt"),
        ("application/rdf+xml", "", "application/rdf+xml", "xml"),
        ("*/*", "", "text/turtle", "turtle"),
        ("text/html", ".ttl", "text/turtle", "turtle"),
        ("text/html", ".nt", "application/n-triples", "nt"),
        ("text/html", ".rdf", "application/rdf+xml", "xml"),
    ],
)
def test_http_get_returns_the_negotiated_document(
    server: str, accept: str, suffix: str, media_type: str, parser: str
) -> None:
    status, headers, body = _get(f"{server}/id/country/be{suffix}", Accept=accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media_type
    assert (ID["country/be"], OWL.sameAs, WD.Q31) in Graph().parse(data=body, format=parser)
    assert "Accept" in headers["Vary"]
    assert 'rel="describedby"' in headers["Link"]


def test_http_conditional_get_and_errors(server: str) -> None:
    status, headers, _ = _get(f"{server}/id/partnership/adpack", Accept="text/turtle")
    assert status == 200 and headers["ETag"].startswith('"')
    status, _, body = _get(
        f"{server}/id/partnership/adpack",
        Accept="text/turtle",
        **{"If-None-Match": headers["ETag"]},
    )
    assert status == 304 and body == b""
    status, headers, body = _get(f"{server}/id/partnership/none", Accept="text/turtle")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    status, _, body = _get(f"{server}/id/partnership/adpack", Accept="image/png")
    assert status == 406 and "text/turtle" in json.loads(body)["offers"]


def test_http_dumps_download_and_match_the_dataset_page(server: str, built: BuildInfo) -> None:
    _, _, page = _get(f"{server}/dataset", Accept="text/html")
    html = page.decode()
    for record in built.dumps:
        row = html[html.index(f'href="/dumps/{record["name"]}"') :].split("</tr>", 1)[0]
        shown = re.search(r'data-sha256="([0-9a-f]{64})"', row)
        status, headers, body = _get(f"{server}/dumps/{record['name']}")
        assert status == 200
        # A pre-compressed dump is served as the gzip file it is.
        served = record.get("compress_format") or record["media_type"]
        assert headers["Content-Type"].split(";")[0] == served
        assert shown is not None and hashlib.sha256(body).hexdigest() == shown.group(1)


# -- headless Chromium ----------------------------------------------------------------------


def test_browser_landing_page(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/")
    assert "European Strategic Cluster Partnerships" in page.inner_text("h1")
    assert page.locator("svg.chart").count() >= 2
    assert page.get_by_role("link", name="AdPack", exact=True).count() >= 1
    _screenshots(page, "landing")
    _assert_clean(page, watched)


def test_browser_follows_partnership_cluster_country_and_back(
    server: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(server + "/id/partnership/adpack")
    assert page.inner_text("h1").startswith("Future Materials and Products for Advanced Smart")
    members = page.locator("table", has_text="Member cluster organisations").inner_text()
    for name in ("Packbridge", "Plastiwin", "Nanoprogress z.s.", "BalticNet-PlasmaTec e.V."):
        assert name in members
    _screenshots(page, "partnership")
    _assert_clean(page, watched)

    page.get_by_role("link", name="Plastiwin", exact=True).first.click()
    page.wait_for_url("**/id/cluster/plastiwin")
    assert page.inner_text("h1") == "Plastiwin"
    page.get_by_role("link", name="Belgium", exact=True).first.click()
    page.wait_for_url("**/id/country/be")
    assert "Q31" in page.inner_text("main")
    page.locator("table", has_text="Cluster organisations based in Belgium").get_by_role(
        "link", name="AdPack", exact=True
    ).click()
    page.wait_for_url("**/id/partnership/adpack")
    assert "AdPack" in page.inner_text("h1")
    _assert_clean(page, watched)


def test_browser_country_page_links_wikidata(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/id/country/be")
    link = page.get_by_role("link", name="Q31", exact=True)
    assert link.get_attribute("href") == "http://www.wikidata.org/entity/Q31"
    assert "Belgium" in page.inner_text("h1")
    assert "Plastiwin" in page.inner_text("main")
    _screenshots(page, "country")
    _assert_clean(page, watched)


def test_browser_browse_pages_from_the_main_navigation(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clusters").click()
    page.wait_for_url("**/clusters")
    assert page.inner_text("h1") == "Cluster organisations"
    assert page.get_by_role("link", name="Plastiwin", exact=True).count() == 1
    _screenshots(page, "clusters")
    _assert_clean(page, watched)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Partnerships").click()
    page.wait_for_url("**/partnerships")
    page.get_by_role("link", name="AdPack", exact=True).click()
    page.wait_for_url("**/id/partnership/adpack")
    _assert_clean(page, watched)


def test_browser_follows_a_lineage_and_narrows_a_list_to_a_generation(
    server: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(server + "/id/partnership/adpack")
    lineage = page.locator(".lineage")
    assert "First generation (2016-2017)" in lineage.inner_text()
    lineage.get_by_role("link", name="AdPack2", exact=True).click()
    page.wait_for_url("**/id/partnership/adpack2")
    head = page.locator(".lineage").inner_text()
    assert "Second generation (2018-2019)" in head and "Continues AdPack (explicit link)" in head
    _screenshots(page, "partnership-gen2")
    _assert_clean(page, watched)

    page.get_by_role("link", name="why", exact=True).click()
    assert page.evaluate("location.hash") == "#note-1"
    page.get_by_role("link", name="about this link", exact=True).click()
    page.wait_for_url("**/id/continuity/adpack-to-adpack2")
    assert page.inner_text("h1") == "AdPack continued as AdPack2 (explicit)"
    _assert_clean(page, watched)

    page.goto(server + "/id/cluster/balticnet-plasmatec-e-v")
    for heading in ("First generation (2016-2017)", "Second generation (2018-2019)"):
        assert page.get_by_role("heading", name=heading, level=3).count() == 1
    _screenshots(page, "cluster-both-generations")
    _assert_clean(page, watched)

    page.goto(server + "/partnerships")
    page.get_by_role("navigation", name="Generation").get_by_role(
        "link", name="Second generation"
    ).click()
    page.wait_for_url("**/partnerships?generation=2")
    assert page.inner_text("h1") == "Partnerships, second generation (2018-2019)"
    assert page.get_by_role("link", name="AdPack2", exact=True).count() == 1
    assert page.get_by_role("link", name="AdPack", exact=True).count() == 0
    _screenshots(page, "partnerships-gen2")
    _assert_clean(page, watched)


def test_browser_dataset_page_lists_dumps(server: str, watched: Watched, built: BuildInfo) -> None:
    page = watched.page
    page.goto(server + "/dataset")
    text = page.inner_text("main")
    for record in built.dumps:
        assert record["name"] in text and record["sha256"] in text
    assert built.release in text
    _screenshots(page, "dataset")
    _assert_clean(page, watched)


def test_browser_narrows_partnerships_by_facets_and_downloads_the_selection(
    server: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(server + "/partnerships?generation=1")
    facets = page.get_by_role("navigation", name="Narrow the list")
    sector = facets.locator("section", has_text="Sector").get_by_role("link").first
    label, count = sector.inner_text().rsplit(None, 1)
    sector.click()
    page.wait_for_url("**sector=*")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == int(count)
    assert label in page.locator("p.chosen").inner_text()
    market = page.get_by_role("navigation", name="Narrow the list").locator(
        "section", has_text="Target market"
    )
    if market.count():
        option = market.get_by_role("link").first
        narrowed = int(option.inner_text().rsplit(None, 1)[1])
        option.click()
        page.wait_for_url("**market=*")
        assert page.locator("table.list tbody tr").count() == narrowed
    _screenshots(page, "partnerships-facet")
    _assert_clean(page, watched)
    csv_url = page.get_by_role("link", name="CSV", exact=True).first.get_attribute("href")
    assert csv_url is not None
    status, headers, body = _get(server + csv_url, Accept="text/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert (
        len(body.decode().strip().splitlines()) - 1 == page.locator("table.list tbody tr").count()
    )


def test_browser_map_page_links_each_shaded_country(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/map?generation=1")
    shaded = page.locator("section[aria-labelledby=members] a.map-country")
    assert shaded.count() >= 10
    first = shaded.first
    href = first.get_attribute("href")
    _screenshots(page, "map")
    _assert_clean(page, watched)
    assert href is not None
    page.goto(server + href)
    assert page.url.endswith(href)
    assert "Wikidata" in page.inner_text("main")


def test_browser_network_page_links_every_node(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/network")
    nodes = page.locator("svg a")
    assert nodes.count() > 50
    _screenshots(page, "network")
    _assert_clean(page, watched)
    page.goto(server + "/id/partnership/adpack")
    assert page.locator("svg a[href='/id/cluster/packbridge']").count() >= 1


def test_browser_figures_and_citation_pages(server: str, watched: Watched) -> None:
    page = watched.page
    page.goto(server + "/")
    page.locator("section[aria-labelledby=coverage] a").first.click()
    page.wait_for_url("**/figures#measure-partnerships")
    assert page.locator("tr#measure-partnerships").count() == 1
    assert page.locator("tr.conflicting").count() >= 2
    _screenshots(page, "figures")
    _assert_clean(page, watched)
    page.get_by_role("contentinfo").get_by_role("link", name="Cite this release").click()
    page.wait_for_url("**/cite")
    assert (
        "@" in page.locator("textarea").first.input_value() or page.locator("textarea").count() >= 4
    )
    _screenshots(page, "cite")
    _assert_clean(page, watched)


# -- helpers -------------------------------------------------------------------------------


def _assert_clean(page: Page, watched: Watched) -> None:
    """No console errors, no request to another host, no axe-core accessibility violation."""
    assert watched.errors == []
    assert watched.foreign == []
    results = Axe().run(page)
    violations = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in results.response["violations"]
    ]
    assert violations == [], page.url


def _screenshots(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
    )


def _get(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """Return status, headers (names case-insensitive, as in HTTP) and body."""
    request = urllib.request.Request(
        url, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")
