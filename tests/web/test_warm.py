"""Warming: the pages made from whole-release lists are rendered once before anyone asks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from counting import CountingStore

from server.store.embedded import EmbeddedStore
from server.web import warm
from server.web.factory import create_app

ROOT = Path(__file__).resolve().parents[2]
FRESH = {"Accept": "text/html", "Cache-Control": "no-cache"}


def test_a_warmed_app_answers_its_list_pages_without_a_query(store: EmbeddedStore) -> None:
    counting = CountingStore(store)
    app = create_app({"PROJECT_DIR": str(ROOT), "WARM_PAGES": True}, backend=counting)
    for thread in threading.enumerate():
        if thread.name == "escp4i-warm":
            thread.join(timeout=60)
    assert counting.queries > 0  # the warming asked the store
    client = app.test_client()
    assert client.get("/health").get_json()["pages_warmed"] is True
    warmed = counting.queries  # the health check's ASK included
    for path in warm.PAGES:
        resp = client.get(path, headers=FRESH)
        assert resp.status_code == 200, path
        assert resp.headers.get("ESCP-Cache") != "hit"
    assert counting.queries == warmed


def test_warming_is_off_when_turned_off(store: EmbeddedStore) -> None:
    counting = CountingStore(store)
    app = create_app({"PROJECT_DIR": str(ROOT), "WARM_PAGES": False}, backend=counting)
    assert warm.warm(app) is None
    assert counting.queries == 0


def test_a_page_that_fails_to_warm_is_logged_and_the_rest_are_warmed(
    store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({"PROJECT_DIR": str(ROOT), "WARM_PAGES": False}, backend=store)

    def broken() -> str:
        raise RuntimeError("drawing failed")

    monkeypatch.setitem(app.view_functions, "maps.page", broken)
    with caplog.at_level(logging.INFO, logger="server.web.warm"):
        failed = warm.render_pages(app)
    assert failed == ["/map"]
    assert "warming /map for release" in caplog.text
    assert "pages warmed in" in caplog.text
