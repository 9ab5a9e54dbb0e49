"""The project's own bounded fuzz run against ``escp4i serve`` (``./run fuzz`` for long runs)."""

from __future__ import annotations

import json
import urllib.request

import pytest
from servers import data_dir, start_app_server

from bench import fuzz
from server.build.info import BuildInfo

pytestmark = pytest.mark.e2e

#: A couple of thousand requests: about half a minute on this machine's two cores.
CASES = 2500
SEED = 20261201


def test_hostile_requests_get_no_5xx_no_traceback_and_every_one_an_answer(
    built: BuildInfo,
) -> None:
    site = start_app_server({"ESCP_DATA_DIR": data_dir(built)}, args=["--workers", "2"])
    try:
        outcome = fuzz.run(site.url, list(fuzz.cases(SEED, CASES)))
        with urllib.request.urlopen(site.url + "/health", timeout=10) as reply:
            assert json.load(reply)["status"] == "ok"
        log = site.log.read_text(encoding="utf-8", errors="replace")
    finally:
        site.stop()
    assert outcome.problems == [], "\n".join(outcome.problems[:20])
    raw = sum(1 for c in fuzz.cases(SEED, CASES) if c.raw is not None)
    assert outcome.answered + outcome.raw_answered + outcome.raw_closed == CASES
    assert outcome.raw_answered + outcome.raw_closed == raw
    assert not [s for s in outcome.statuses if s >= 500 and s != 503]
    # The cases reach the routes: most are refused, some answered.
    assert outcome.statuses[200] > 0 and outcome.statuses[404] > 0 and outcome.statuses[400] > 0
    assert "Traceback" not in log, log[-3000:]


def test_the_same_seed_gives_the_same_cases() -> None:
    assert list(fuzz.cases(7, 300)) == list(fuzz.cases(7, 300))
    assert list(fuzz.cases(7, 300)) != list(fuzz.cases(8, 300))
