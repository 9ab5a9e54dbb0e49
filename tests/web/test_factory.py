"""The application factory, the landing page and the health check."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server.store.embedded import EmbeddedStore
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]


def test_landing_and_figures_pages_show_stated_and_enumerated_figures(
    client: FlaskClient,
) -> None:
    resp = client.get("/", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    with (ROOT / "data/sources/escp4i-gen1-partnerships.csv").open(encoding="utf-8") as f:
        n = len(list(csv.DictReader(f)))
    assert f"<strong>{n}</strong> of 25 partnerships" in html
    assert "of about 150 cluster organisations" in html
    assert '<html lang="en">' in html
    figures = client.get("/figures", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'<td class="num">{n}</td>' in figures
    assert f"{100 * n / 25:.0f}" in figures  # the coverage of the 25 stated partnerships


def test_health_reports_the_release(client: FlaskClient, store: EmbeddedStore) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json == {
        "status": "ok",
        "release": store.info.release,
        "triples": store.info.triples,
        "pages_warmed": False,  # test apps are not warmed (tests/conftest.py)
    }


def test_unknown_path_returns_problem_json(client: FlaskClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.json is not None and resp.json["status"] == 404


def test_unknown_path_returns_html_to_browsers(client: FlaskClient) -> None:
    resp = client.get("/no/such/page", headers={"Accept": "text/html,*/*;q=0.8"})
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "404" in resp.get_data(as_text=True)


def test_wrong_method_returns_405_with_allow(client: FlaskClient) -> None:
    resp = client.delete("/health")
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"BACKEND": "postgres"}, "legal values: embedded, sparql"),
        ({"BACKEND": "sparql"}, "ESCP_SPARQL_URL"),
        ({"BASE_IRI": "w3id.org/escp4i"}, "ESCP_BASE_IRI"),
        ({"QUERY_TIMEOUT": -1}, "ESCP_QUERY_TIMEOUT"),
    ],
)
def test_bad_settings_stop_the_factory(
    store: EmbeddedStore, config: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(config, backend=store)


def test_settings_come_from_prefixed_environment(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCP_QUERY_TIMEOUT", "3")
    app = create_app(backend=store)
    assert app.config["QUERY_TIMEOUT"] == 3


def test_embedded_backend_without_a_build_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="escp4i build"):
        create_app({"DATA_DIR": str(tmp_path)})


def test_another_base_iri_serves_landing_page_pages_and_api(tmp_path: Path) -> None:
    from server.build.pipeline import build

    base = "http://example.test/kg/"
    info = build(ROOT, tmp_path, base_iri=base, version="t")
    app = create_app(
        {"BASE_IRI": base, "PROJECT_DIR": str(ROOT), "RESPONSE_CACHE_MB": 0},
        backend=EmbeddedStore(Path(info.path)),
    )
    client = app.test_client()
    landing = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'href="/figures#measure-partnerships"' in landing
    figures = client.get("/figures", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<td class="num">15</td>' in figures
    page = client.get("/id/partnership/adpack", headers={"Accept": "text/turtle"})
    assert page.status_code == 200
    assert f"{base}id/cluster/plastiwin" in page.get_data(as_text=True)
    members = client.get(
        "/api/queries/partnership-members.json",
        query_string={"partnership": f"{base}id/partnership/adpack"},
    )
    assert members.status_code == 200
    assert members.json is not None and len(members.json) == 5


def test_an_unknown_sparql_dialect_stops_the_factory_naming_the_legal_ones() -> None:
    config = {"BACKEND": "sparql", "SPARQL_URL": "http://127.0.0.1:9/query"}
    with pytest.raises(ValueError, match="auto, standard, virtuoso, comunica"):
        create_app({**config, "SPARQL_DIALECT": "fuseki"})


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "198.51.100.7")])
def test_client_address_comes_from_trusted_proxy_hops_only(
    store: EmbeddedStore, hops: int, seen: str
) -> None:
    app = create_app({"TESTING": True, "TRUSTED_PROXIES": hops}, backend=store)
    client = app.test_client()
    logger = logging.getLogger("server.access")
    found = _Collect()
    logger.addHandler(found)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        # nginx appends the address it saw to whatever the client sent: only that one counts.
        forwarded = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7"}
        resp = client.get("/health", headers=forwarded, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        resp.close()  # the access line is written when the server closes the body
    finally:
        logger.removeHandler(found)
        logger.setLevel(level)
    assert resp.status_code == 200
    assert found.lines and seen in found.lines[-1]
    assert "203.0.113.66" not in found.lines[-1]


class _Collect(logging.Handler):
    """Keep the messages a logger emits, whatever the logging configuration of the run."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
