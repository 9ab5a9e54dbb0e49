"""Scale-out behind nginx (deploy/nginx.conf.template), in the two shapes of deploy/README.md.

Replicas: two ``escp4i serve`` instances, each over its own copy of one release. Shared
engine: two instances over one Oxigraph server holding the release. In each shape: answers
through nginx equal an instance's, a repeated request is answered by the cache (no instance
logs it), stopping one instance loses no request, and a release reload has no 5xx.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph as ox
import pytest
from loads import Load
from nginx import Nginx, start_nginx
from servers import Server, data_dir, start_app_server, start_oxigraph
from sparql_texts import VOLATILE

from bench.procs import tree
from server.build.info import CURRENT, SERVED_BY, BuildInfo
from server.build.pipeline import build
from server.vocab import DEFAULT_BASE_IRI

pytestmark = pytest.mark.e2e
log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ESCP4I = str(Path(sys.executable).parent / "escp4i")
OLD_LABEL = "Future Materials and Products for Advanced Smart Packaging"
NEW_LABEL = "Future Materials and Products for Advanced Smart Packaging (reloaded)"
PAGE = "/id/partnership/adpack"
JSON_RESULTS = "application/sparql-results+json"
COUNT = "/sparql?query=" + quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
#: What "the same answer" is checked on: pages in two formats, the landing page, a SPARQL
#: GET, the service description and a named query of the API.
COMPARED: list[tuple[str, dict[str, str]]] = [
    ("/", {"Accept": "text/html"}),
    (PAGE, {"Accept": "text/html"}),
    (PAGE, {"Accept": "text/turtle"}),
    (COUNT, {"Accept": JSON_RESULTS}),
    ("/sparql", {"Accept": "text/turtle"}),
    ("/api/queries/partnerships", {"Accept": "application/json"}),
]
#: The load while an instance stops or reloads. ``no-cache`` makes nginx ask an instance, so
#: the instances, not the cache, are what is measured; the plain page is a cache hit.
LOAD: list[tuple[str, dict[str, str]]] = [
    (PAGE, {"Accept": "text/html", "Cache-Control": "no-cache"}),
    (COUNT, {"Accept": JSON_RESULTS, "Cache-Control": "no-cache"}),
    ("/api/queries/partnerships", {"Accept": "application/json", "Cache-Control": "no-cache"}),
    ("/health", {}),
    (PAGE, {"Accept": "text/turtle"}),
]
#: A SPARQL GET no other check sends (the cache outlives each check), and a volatile one.
SPARQL_REPEATED = "/sparql?query=" + quote(
    "SELECT ?c WHERE { ?c a <https://w3id.org/escp4i/def#Cluster> } ORDER BY ?c LIMIT 7"
)
SPARQL_VOLATILE = "/sparql?query=" + quote(VOLATILE)
#: Repeats of one request that nginx must answer without asking an instance.
REPEATS = 20
#: What a release says about when it was built: all two builds of one commit may differ in.
TIME_PREDICATES = {
    ox.NamedNode("http://purl.org/dc/terms/modified"),
    ox.NamedNode("http://www.w3.org/ns/prov#endedAtTime"),
}
CLIENTS = 4
MAX_REQUESTS_PER_CLIENT = 1500
MAX_LOAD_SECONDS = 40.0
#: nginx is one client address to the instances: the per-client caps are lifted (see
#: deploy/README.md, "Client addresses"); fewer query processes keep four instances light.
ENV = {
    "ESCP_CLIENT_MAX_QUERIES": "1000",
    "ESCP_CLIENT_QUERY_SECONDS": "1e9",
    "ESCP_QUERY_WORKERS": "1",
}
SERVE_ARGS = ["--workers", "1", "--threads", "4"]


@dataclass
class Cluster:
    """nginx over two instances, and how to move them all to another release."""

    proxy: Nginx
    instances: list[Server]
    reload: Callable[[BuildInfo], None]
    stopped: set[int] = field(default_factory=set)

    def running(self) -> list[Server]:
        return [s for i, s in enumerate(self.instances) if i not in self.stopped]


# --- the two shapes -------------------------------------------------------------------


@pytest.fixture(scope="module")
def new_release(tmp_path_factory: pytest.TempPathFactory) -> BuildInfo:
    """A second release: the project with one partnership relabelled, built on its own."""
    project = _snapshot(tmp_path_factory.mktemp("project"))
    data = project / "data" / "partnerships.ttl"
    text = data.read_text(encoding="utf-8")
    assert f'"{OLD_LABEL}"@en' in text
    data.write_text(text.replace(f'"{OLD_LABEL}"@en', f'"{NEW_LABEL}"@en'), "utf-8")
    return build(project, tmp_path_factory.mktemp("new"), base_iri=DEFAULT_BASE_IRI, version="2")


@pytest.fixture(scope="class")
def replicas(built: BuildInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two instances, each over its own copy of the session's release folder."""
    folders = [tmp_path_factory.mktemp(f"replica{i}") for i in range(2)]
    for folder in folders:
        install(Path(built.path), folder)
    instances: list[Server] = []
    try:
        for folder in folders:
            instances.append(
                start_app_server({**ENV, "ESCP_DATA_DIR": str(folder)}, args=SERVE_ARGS)
            )

        def reload(release: BuildInfo) -> None:
            # One replica at a time: the other answers meanwhile.
            for folder, instance in zip(folders, instances, strict=True):
                install(Path(release.path), folder)
                assert _wait_for_release(instance.url, release.release), instance.log_tail()

        with start_nginx([s.url for s in instances]) as proxy:
            yield Cluster(proxy, instances, reload)
    finally:
        for instance in instances:
            instance.stop()


@pytest.fixture(scope="class")
def shared(built: BuildInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two instances over one Oxigraph server loaded with the session's release."""
    with start_oxigraph(tmp_path_factory.mktemp("oxigraph"), writable=True) as engine:
        _load_remote(Path(data_dir(built)), engine.url)
        env = {**ENV, "ESCP_BACKEND": "sparql", "ESCP_SPARQL_URL": engine.url + "/query"}
        env["ESCP_DATA_DIR"] = data_dir(built)
        instances: list[Server] = []
        try:
            for _ in range(2):
                instances.append(start_app_server(env, args=SERVE_ARGS))

            def reload(release: BuildInfo) -> None:
                # The engine gets the new graphs; each instance then reads the release it
                # describes when its workers are replaced (SIGHUP), one instance at a time.
                _load_remote(Path(release.path).parents[1], engine.url)
                for instance in instances:
                    os.kill(instance.pid, signal.SIGHUP)
                    assert _wait_for_release(instance.url, release.release), instance.log_tail()

            with start_nginx([s.url for s in instances]) as proxy:
                yield Cluster(proxy, instances, reload)
        finally:
            for instance in instances:
                instance.stop()


def install(release: Path, data: Path) -> Path:
    """Copy a release folder into a data folder and point ``current`` at the copy.

    The folder is immutable once built, so a copy serves the same release; the link is
    swapped atomically (as ``escp4i build`` does), and a running instance follows it.
    """
    target = data / "builds" / release.name
    if not target.exists():
        shutil.copytree(release, target, ignore=shutil.ignore_patterns(SERVED_BY))
    link = data / f".{CURRENT}.install"
    link.unlink(missing_ok=True)
    link.symlink_to(target.relative_to(data))
    os.replace(link, data / CURRENT)
    return target


# --- the same release from two builds of one commit -----------------------------------


def test_two_builds_of_one_commit_have_the_same_release(tmp_path: Path) -> None:
    # One snapshot of the inputs (a commit), built twice into two data folders.
    project = _snapshot(tmp_path / "commit")
    built, again = (
        build(project, tmp_path / name, base_iri=DEFAULT_BASE_IRI, version="1")
        for name in ("one", "two")
    )
    assert again.release == built.release
    assert again.content_hash == built.content_hash
    assert (again.triples, again.graphs) == (built.triples, built.graphs)
    # The data graph, as dumped, is the same byte for byte (a gzip copy carries a time).
    data = {d["name"]: d["sha256"] for d in built.dumps if _plain_data(d)}
    assert data and {d["name"]: d["sha256"] for d in again.dumps if _plain_data(d)} == data
    # All graphs, blank nodes named canonically: the statements that may differ are those
    # that give the build time (the release description's), nothing of the data.
    first, second = (_quads(info) for info in (built, again))
    differ = {q.predicate for q in first ^ second}
    assert differ <= TIME_PREDICATES, differ - TIME_PREDICATES


def _snapshot(project: Path) -> Path:
    """Copy what a release is made of (every input its hash reads) into a folder."""
    for folder in ("ontology", "data", "shapes", "queries"):
        shutil.copytree(ROOT / folder, project / folder)
    return project


def _plain_data(dump: dict[str, object]) -> bool:
    return dump["graphs"] == "data" and not dump["compress_format"]


def _quads(info: BuildInfo) -> set[ox.Quad]:
    dataset = ox.Dataset(ox.parse(path=Path(info.path) / "dumps" / "escp4i-all.nq"))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return set(dataset)


# --- the checks, run on each shape ----------------------------------------------------


def check_answers_equal(cluster: Cluster) -> None:
    # Pages link to themselves through the Host they were asked on: nginx passes its own.
    host = {"Host": urlsplit(cluster.proxy.url).netloc}
    for path, wanted in COMPARED:
        headers = {**wanted, **host}
        through = _get(cluster.proxy.url, path, headers)
        for instance in cluster.instances:
            direct = _get(instance.url, path, headers)
            assert through.status == direct.status == 200, (path, through.status, direct.status)
            assert through.body == direct.body, f"{path} {headers}: nginx and {instance.url} differ"
            assert through.headers.get("Content-Type") == direct.headers.get("Content-Type")
            assert through.headers.get("ETag") == direct.headers.get("ETag")


def check_repeat_is_a_cache_hit(cluster: Cluster) -> None:
    # A key no other check asks for: the page as N-Triples.
    headers = {"Accept": "application/n-triples"}
    first = _get(cluster.proxy.url, PAGE, headers)
    assert first.status == 200 and first.headers["X-Cache-Status"] == "MISS"
    assert "public" in first.headers["Cache-Control"] and first.headers["ETag"]
    assert _wait_logged(cluster, first.request_id), "the first request reached no instance"
    asked = _asked(cluster, PAGE)
    repeats = [_get(cluster.proxy.url, PAGE, headers) for _ in range(REPEATS)]
    assert [r.headers["X-Cache-Status"] for r in repeats] == ["HIT"] * REPEATS
    assert all(r.body == first.body for r in repeats)
    again = repeats[-1]
    assert again.headers["ETag"] == first.headers["ETag"]
    # A client holding the ETag gets a 304 from the cache.
    revalidated = _get(cluster.proxy.url, PAGE, {**headers, "If-None-Match": first.headers["ETag"]})
    assert revalidated.status == 304 and revalidated.body == b""
    # Vary: Accept — another format of the same URL is its own entry, not the stored one.
    turtle = _get(cluster.proxy.url, PAGE, {"Accept": "text/turtle"})
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert turtle.body != first.body
    time.sleep(0.5)  # let a late log line land before counting
    after = _asked(cluster, PAGE)
    assert after == asked + (turtle.headers["X-Cache-Status"] != "HIT")
    for reply in (*repeats, revalidated):
        assert not _logged(cluster, reply.request_id), "a cache hit reached an instance"
    log.info(
        "cache: %d repeats (HIT) and a revalidation (304) answered by nginx; the instances' "
        "log lines for the page: %d before, %d after (the Turtle request: %s)",
        REPEATS,
        asked,
        after,
        turtle.headers["X-Cache-Status"],
    )
    check_sparql_repeat_is_a_cache_hit(cluster)
    # An answer without Cache-Control is never stored: each /health reaches an instance.
    healths = [_get(cluster.proxy.url, "/health", {}) for _ in range(2)]
    assert [h.headers["X-Cache-Status"] for h in healths] == ["MISS", "MISS"]
    assert all(_wait_logged(cluster, h.request_id) for h in healths)


def check_sparql_repeat_is_a_cache_hit(cluster: Cluster) -> None:
    """A SPARQL GET answer is stored and revalidated as a page is; a volatile one never."""
    headers = {"Accept": JSON_RESULTS}
    first = _get(cluster.proxy.url, SPARQL_REPEATED, headers)
    assert first.status == 200 and first.headers["X-Cache-Status"] == "MISS"
    assert "public" in first.headers["Cache-Control"] and first.headers["ETag"]
    assert _wait_logged(cluster, first.request_id), "the first query reached no instance"
    repeats = [_get(cluster.proxy.url, SPARQL_REPEATED, headers) for _ in range(REPEATS)]
    assert [r.headers["X-Cache-Status"] for r in repeats] == ["HIT"] * REPEATS
    assert all(r.body == first.body for r in repeats)
    tagged = {**headers, "If-None-Match": first.headers["ETag"]}
    revalidated = _get(cluster.proxy.url, SPARQL_REPEATED, tagged)
    assert revalidated.status == 304
    time.sleep(0.5)  # let a late log line land before looking
    for reply in (*repeats, revalidated):
        assert not _logged(cluster, reply.request_id), "a cached query reached an instance"
    # RAND() and STRUUID() change per run: every request runs on an instance.
    volatile = [_get(cluster.proxy.url, SPARQL_VOLATILE, headers) for _ in range(3)]
    assert [v.status for v in volatile] == [200] * 3
    assert [v.headers["X-Cache-Status"] for v in volatile] == ["MISS"] * 3
    assert len({v.body for v in volatile}) == 3
    assert all(_wait_logged(cluster, v.request_id) for v in volatile)
    log.info("SPARQL through nginx: %d repeats HIT, a 304, 3 volatile queries all run", REPEATS)


def check_reload_has_no_5xx(cluster: Cluster, release: BuildInfo) -> None:
    old = json.loads(_get(cluster.proxy.url, "/health", {}).body)["release"]
    assert old != release.release
    with _load(cluster.proxy.url) as load:
        time.sleep(1)
        started = time.monotonic()
        cluster.reload(release)
        # Every instance serves it; through nginx, 20 answers in a row say so.
        assert _wait_for_release(cluster.proxy.url, release.release, in_a_row=20)
        took = time.monotonic() - started
        time.sleep(1)
    failed = [line for line in cluster.proxy.log_lines() if '" 200 ' not in line]
    assert load.failures == [], load.failures[:10]
    assert not [s for s in load.statuses if s >= 500], (load.statuses, failed[:5])
    assert sum(load.statuses.values()) > 50, load.statuses
    # A fresh request refreshes the shared cache; the next plain one is the new page.
    fresh = _get(cluster.proxy.url, PAGE, {"Accept": "text/html", "Cache-Control": "no-cache"})
    assert NEW_LABEL in fresh.body.decode()
    plain = _get(cluster.proxy.url, PAGE, {"Accept": "text/html"})
    assert plain.headers["X-Cache-Status"] == "HIT" and NEW_LABEL in plain.body.decode()
    log.info(
        "reload through nginx: %s; the new release answered through nginx %.1f s after it began",
        dict(sorted(load.statuses.items())),
        took,
    )


def check_stopping_one_instance_loses_no_request(cluster: Cluster, *, crash: bool) -> None:
    """Stop one instance under load: gracefully (SIGTERM), or as a crash (SIGKILL)."""
    victim, survivor = cluster.instances
    before = _asked(cluster, PAGE, only=[survivor])
    with _load(cluster.proxy.url) as load:
        time.sleep(1)
        answered_before = load.answered()
        if crash:
            # The server and its worker processes at once, each by PID (a worker whose
            # master alone is killed goes on serving).
            for pid in reversed(tree(victim.pid)):
                os.kill(pid, signal.SIGKILL)
            victim.process.wait(timeout=10)
        victim.stop()  # SIGTERM by PID and a wait, unless it is gone already
        cluster.stopped.add(0)
        stopped_at = load.answered()
        time.sleep(2)
    after = load.answered() - stopped_at
    assert load.failures == [], load.failures[:10]
    failed = [line for line in cluster.proxy.log_lines() if '" 200 ' not in line]
    assert set(load.statuses) == {200}, (load.statuses, failed[:5], survivor.log_tail(15))
    assert answered_before > 0 and after > 20, (answered_before, stopped_at, after)
    assert _asked(cluster, PAGE, only=[survivor]) > before
    retried = [line for line in cluster.proxy.log_lines() if ", 127.0.0.1:" in line]
    log.info(
        "failover through nginx (%s): %d answers, all 200; %d after the stop; "
        "%d passed on to the other instance",
        "SIGKILL" if crash else "SIGTERM",
        sum(load.statuses.values()),
        after,
        len(retried),
    )


class TestReplicas:
    """Each instance opens its own copy of the same release."""

    def test_answers_through_nginx_equal_each_instances(self, replicas: Cluster) -> None:
        check_answers_equal(replicas)

    def test_repeated_request_is_answered_by_the_cache(self, replicas: Cluster) -> None:
        check_repeat_is_a_cache_hit(replicas)

    def test_release_reload_copied_to_each_replica_has_no_5xx(
        self, replicas: Cluster, new_release: BuildInfo
    ) -> None:
        check_reload_has_no_5xx(replicas, new_release)

    def test_killing_one_instance_loses_no_request(self, replicas: Cluster) -> None:
        check_stopping_one_instance_loses_no_request(replicas, crash=True)


class TestSharedEngine:
    """The instances query one remote SPARQL server (Oxigraph)."""

    def test_answers_through_nginx_equal_each_instances(self, shared: Cluster) -> None:
        check_answers_equal(shared)

    def test_repeated_request_is_answered_by_the_cache(self, shared: Cluster) -> None:
        check_repeat_is_a_cache_hit(shared)

    def test_release_reload_of_the_engine_has_no_5xx(
        self, shared: Cluster, new_release: BuildInfo
    ) -> None:
        check_reload_has_no_5xx(shared, new_release)

    def test_stopping_one_instance_loses_no_request(self, shared: Cluster) -> None:
        check_stopping_one_instance_loses_no_request(shared, crash=False)


# --- helpers ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def request_id(self) -> str:
        return str(self.headers["X-Request-ID"])


def _load(url: str) -> Load:
    """LOAD from CLIENTS clients, bounded in count and time."""
    return Load(
        url,
        LOAD,
        clients=CLIENTS,
        per_client=MAX_REQUESTS_PER_CLIENT,
        seconds=MAX_LOAD_SECONDS,
        join_seconds=60,
    )


def _get(base: str, path: str, headers: dict[str, str]) -> Reply:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(str(parts.hostname), int(parts.port or 80), timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        reply = connection.getresponse()
        return Reply(reply.status, reply.headers, reply.read())
    finally:
        connection.close()


def _log_text(instance: Server) -> str:
    return (
        instance.log.read_text(encoding="utf-8", errors="replace") if instance.log.exists() else ""
    )


def _logged(cluster: Cluster, request_id: str) -> bool:
    """Tell whether an instance logged the request (nginx's id is its request id)."""
    return any(f"id={request_id}" in _log_text(s) for s in cluster.running())


def _wait_logged(cluster: Cluster, request_id: str, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _logged(cluster, request_id):
            return True
        time.sleep(0.05)
    return False


def _asked(cluster: Cluster, path: str, *, only: Sequence[Server] | None = None) -> int:
    """Count the access log lines of the instances for GET ``path``."""
    needle = f'"GET {path} HTTP/'
    return sum(_log_text(s).count(needle) for s in (only or cluster.running()))


def _wait_for_release(url: str, release: str, *, within: float = 30.0, in_a_row: int = 1) -> bool:
    """Wait until ``in_a_row`` successive /health answers of ``url`` name the release."""
    deadline = time.monotonic() + within
    seen = 0
    while time.monotonic() < deadline:
        try:
            reply = _get(url, "/health", {"Cache-Control": "no-cache"})
            ok = reply.status == 200 and json.loads(reply.body).get("release") == release
        except (OSError, http.client.HTTPException, ValueError):
            ok = False
        seen = seen + 1 if ok else 0
        if seen >= in_a_row:
            return True
        time.sleep(0.05)
    return False


def _load_remote(data: Path, engine: str) -> None:
    result = subprocess.run(
        [ESCP4I, "--data-dir", str(data), "load-remote", engine + "/store"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
