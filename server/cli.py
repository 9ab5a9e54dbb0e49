"""The ``escp4i`` command: convert, build, validate, query and serve."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from server.settings import DEFAULT_BASE_IRI, DEFAULTS, PROJECT_DIR

if TYPE_CHECKING:
    import pyoxigraph as ox

log = logging.getLogger(__name__)

#: --format names: pyoxigraph QueryResultsFormat and RdfFormat attribute names.
RESULT_FORMATS = {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV"}
GRAPH_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("escp4i-kg")
    except PackageNotFoundError:
        return "0.0.0"


@click.group()
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ESCP_PROJECT_DIR",
    default=PROJECT_DIR,
    show_default=True,
    help="Folder holding ontology/, data/, shapes/ and queries/.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ESCP_DATA_DIR",
    default=Path(DEFAULTS["DATA_DIR"]),
    show_default=True,
    help="Folder where builds are written and served from.",
)
@click.option("--base-iri", envvar="ESCP_BASE_IRI", default=DEFAULT_BASE_IRI, show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def main(
    ctx: click.Context, project_dir: Path, data_dir: Path, base_iri: str, verbose: bool
) -> None:
    """The ESCP-4i knowledge graph: build, check, query and serve it."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = {"project_dir": project_dir, "data_dir": data_dir, "base_iri": base_iri}


@main.command()
@click.pass_obj
def convert(obj: dict[str, Any]) -> None:
    """Regenerate data/*.ttl from the source tables in data/sources/."""
    try:
        from server.build import convert as converter
        from server.build.tables import ConversionError

        paths = converter.write(obj["project_dir"] / "data")
    except ConversionError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in paths:
        click.echo(f"wrote {path}")


@main.command()
@click.option(
    "--reload", "wait", is_flag=True, help="Then wait until every running server serves it."
)
@click.pass_obj
def build(obj: dict[str, Any], wait: bool) -> None:
    """Validate the graph and build the store that `serve` uses (swapped in on success).

    Running servers follow the new build by themselves within a second of their next
    request; with --reload this command waits until each has answered for it.
    """
    from server.build import pipeline as builder

    started = time.monotonic()
    try:
        info = builder.build(
            obj["project_dir"],
            obj["data_dir"],
            base_iri=obj["base_iri"],
            version=_version(),
            progress=_progress,
        )
    except builder.BuildError as exc:
        raise click.ClickException(f"build failed, the served store is unchanged.\n{exc}") from exc
    click.echo(
        f"built release {info.release}: {info.triples} triples "
        f"{info.graphs} in {time.monotonic() - started:.2f} s -> {info.path}"
    )
    if wait:
        _confirm_reload(obj["data_dir"], info.release, timeout=10.0)


@main.command()
@click.option("--timeout", default=10.0, show_default=True, type=float, help="Seconds per server.")
@click.pass_obj
def reload(obj: dict[str, Any], timeout: float) -> None:
    """Wait until every running server serves the current build; exit 1 if one does not."""
    from server.build.info import BuildInfo, current_build

    build_dir = current_build(obj["data_dir"])
    if build_dir is None:
        raise click.ClickException(f"no store built in {obj['data_dir']}: run `escp4i build`")
    _confirm_reload(obj["data_dir"], BuildInfo.load(build_dir).release, timeout=timeout)


def _confirm_reload(data_dir: Path, release: str, *, timeout: float) -> None:
    from server.web.running import running, wait_for_release

    servers = running(data_dir)
    if not servers:
        click.echo(f"no running server in {data_dir}; the next `serve` serves {release}")
        return
    late = []
    for server in servers:
        if wait_for_release(server, release, timeout=timeout):
            click.echo(f"server {server.pid} at {server.url} serves release {release}")
        else:
            late.append(server)
    if late:
        names = ", ".join(f"{s.pid} ({s.url})" for s in late)
        raise click.ClickException(f"not serving {release} after {timeout:g} s: {names}")


@main.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "turtle"]), default="text", show_default=True
)
@click.pass_obj
def validate(obj: dict[str, Any], fmt: str) -> None:
    """Run the build's checks and print the SHACL report; exit 0 only if the data conforms."""
    from server.build import pipeline as builder

    try:
        graphs = builder.load_graphs(obj["project_dir"])
    except builder.BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    _progress(f"validating {len(graphs['data'])} data triples")
    report = builder.validate(graphs)
    if fmt == "turtle":
        click.echo(report.graph.serialize(format="turtle"))
    else:
        click.echo(report.text)
    sys.exit(0 if report.conforms else 1)


@main.command()
@click.argument("sparql", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the query from a file, e.g. queries/key-figures.rq.",
)
@click.option(
    "--format",
    "fmt",
    default="table",
    show_default=True,
    type=click.Choice(["table", *RESULT_FORMATS, *GRAPH_FORMATS]),
)
@click.pass_obj
def query(obj: dict[str, Any], sparql: str | None, file: Path | None, fmt: str) -> None:
    """Run a SPARQL query on the built store."""
    from server.store.embedded import EmbeddedStore

    if (sparql is None) == (file is None):
        raise click.UsageError("give either a query or --file, not both or neither")
    text = file.read_text(encoding="utf-8") if file else str(sparql)
    try:
        store = EmbeddedStore.current(obj["data_dir"])
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        result = store.query(text)
    except SyntaxError as exc:
        click.echo(f"Error: bad query: {' '.join(str(exc).split())}", err=True)
        sys.exit(2)
    click.echo(_render(result, fmt), nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Flask's development server instead of a production one.")
@click.option(
    "--server",
    "server_name",
    default="granian",
    show_default=True,
    envvar="ESCP_SERVER",
    type=click.Choice(["granian", "gunicorn"]),
    help="Production server.",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Per worker."
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    envvar="ESCP_LOG_FORMAT",
    type=click.Choice(["text", "json"]),
    help="One line per record on stderr: text, or one JSON object per line.",
)
@click.pass_obj
def serve(
    obj: dict[str, Any],
    host: str,
    port: int,
    dev: bool,
    server_name: str,
    workers: int,
    threads: int,
    log_format: str,
) -> None:
    """Serve the SPARQL endpoint and pages on the embedded store (building it if needed)."""
    import os

    # A plain check: the server's master process stays free of the build's imports.
    if not (obj["data_dir"] / "current").exists():
        click.echo("no store built yet: building it first", err=True)
        obj_ctx = click.get_current_context()
        obj_ctx.invoke(build)
    os.environ.setdefault("ESCP_DATA_DIR", str(obj["data_dir"]))
    os.environ.setdefault("ESCP_BASE_IRI", obj["base_iri"])
    os.environ.setdefault("ESCP_PROJECT_DIR", str(obj["project_dir"]))
    if dev:
        import logging.config

        from server.web.factory import create_app
        from server.web.logs import logging_config

        logging.config.dictConfig(logging_config(log_format))
        create_app().run(host=host, port=port)
        return
    from server.web.running import registered
    from server.web.wsgi import run

    # Query processes are CPU-bound: per server process, one core's share of them at a time.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("ESCP_QUERY_CONCURRENCY", str(max(1, (cores or 1) // workers)))

    # Every worker process counts into files here; /metrics sums them (prometheus-client).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(obj["data_dir"]))
    with registered(obj["data_dir"], url=f"http://{host}:{port}"):
        run(
            server_name,
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            log_format=log_format,
        )


@main.command("load-remote")
@click.argument("url")
@click.option("--timeout", default=60.0, show_default=True, type=float, help="Seconds per graph.")
@click.option("--user", help="User for an endpoint that asks for Basic or Digest authentication.")
@click.option(
    "--password",
    envvar="ESCP_GRAPH_STORE_PASSWORD",
    help="Password of --user (or the ESCP_GRAPH_STORE_PASSWORD environment variable).",
)
@click.pass_obj
def load_remote(
    obj: dict[str, Any], url: str, timeout: float, user: str | None, password: str | None
) -> None:
    """Load the built dataset into a SPARQL server through the Graph Store Protocol.

    URL is the server's graph store endpoint: http://127.0.0.1:7878/store for an Oxigraph
    server, http://127.0.0.1:8890/sparql-graph-crud-auth for Virtuoso (with --user dba).
    Each named graph is PUT to URL?graph=IRI, replacing that graph there. Comunica has no
    Graph Store: it is started on the build's dumps instead (README).
    """
    from server.errors import AppError
    from server.store.embedded import EmbeddedStore
    from server.store.remote import load

    try:
        store = EmbeddedStore.current(obj["data_dir"])
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        loaded = load(store.store, url, timeout=timeout, user=user, password=password)
    except AppError as exc:
        raise click.ClickException(exc.detail) from exc
    for graph, triples in loaded:
        click.echo(f"loaded {graph}: {triples} triples")
    total = sum(triples for _, triples in loaded)
    click.echo(f"loaded release {store.info.release}: {total} triples in {len(loaded)} graphs")


def _metrics_dir(data_dir: Path) -> Path:
    """Make an empty metrics folder for this server; remove those of servers that are gone."""
    import os
    import shutil

    from server.build.info import alive

    run_dir = data_dir / "run"
    for old in run_dir.glob("metrics-*"):
        pid = old.name.removeprefix("metrics-")
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = run_dir / f"metrics-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _progress(message: str) -> None:
    log.info("%s", message)
    if sys.stderr.isatty():
        click.echo(click.style(f"… {message}", fg="cyan"), err=True)


def _render(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, fmt: str) -> str:
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        if fmt in RESULT_FORMATS:
            return _text(
                result.serialize(format=getattr(ox.QueryResultsFormat, RESULT_FORMATS[fmt]))
            )
        return ("true" if result else "false") + "\n"
    if isinstance(result, ox.QueryTriples):
        rdf = getattr(ox.RdfFormat, GRAPH_FORMATS.get(fmt, "TURTLE"))
        return _text(ox.serialize(result, format=rdf))
    if fmt in RESULT_FORMATS:
        return _text(result.serialize(format=getattr(ox.QueryResultsFormat, RESULT_FORMATS[fmt])))
    if fmt in GRAPH_FORMATS:
        raise click.UsageError(f"--format {fmt} is for CONSTRUCT/DESCRIBE results")
    return _table(result)


def _text(data: bytes | None) -> str:
    # pyoxigraph returns None only when given an output file; we never give one.
    return (data or b"").decode("utf-8")


def _table(result: ox.QuerySolutions) -> str:
    names = [v.value for v in result.variables]
    rows = [[_cell(s[n]) for n in names] for s in result]
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    line = "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    out.append(f"({len(rows)} rows)")
    return "\n".join(out) + "\n"


def _cell(term: Any) -> str:
    if term is None:
        return ""
    return str(term.value) if hasattr(term, "value") else str(term)
