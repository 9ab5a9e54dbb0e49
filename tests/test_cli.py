"""The escp4i command on a built store: query formats, errors, validate."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from sources import partnership_rows

from server.build.info import BuildInfo
from server.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _invoke(built: BuildInfo, *args: str) -> tuple[int, str, str]:
    data_dir = str(Path(built.path).parents[1])
    result = CliRunner().invoke(main, ["--data-dir", data_dir, *args])
    return result.exit_code, result.stdout, result.stderr


def test_query_table_lists_the_partnerships(built: BuildInfo) -> None:
    code, out, _ = _invoke(
        built,
        "query",
        "PREFIX escp: <https://w3id.org/escp4i/def#> "
        "SELECT ?a WHERE { ?p a escp:Partnership ; escp:acronym ?a } ORDER BY ?a",
    )
    assert code == 0
    assert "AdPack" in out
    assert f"({len(partnership_rows())} rows)" in out


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "xml"])
def test_query_writes_each_result_format(built: BuildInfo, fmt: str) -> None:
    code, out, _ = _invoke(
        built, "query", "--format", fmt, "--file", str(ROOT / "queries" / "enumerated-counts.rq")
    )
    assert code == 0
    if fmt == "json":
        assert {"what", "count"} <= set(json.loads(out)["head"]["vars"])
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {"what": "partnerships", "count": str(len(partnership_rows()))}.items() <= next(
            r for r in rows if r["what"] == "partnerships"
        ).items()
    elif fmt == "tsv":
        assert out.splitlines()[0].split("\t")[0] == "?what"
    else:
        assert "<sparql" in out


@pytest.mark.parametrize("fmt", ["turtle", "ntriples"])
def test_construct_writes_rdf(built: BuildInfo, fmt: str) -> None:
    code, out, _ = _invoke(
        built,
        "query",
        "--format",
        fmt,
        "CONSTRUCT { ?c <http://www.w3.org/2002/07/owl#sameAs> ?wd } "
        "WHERE { ?c <http://www.w3.org/2002/07/owl#sameAs> ?wd }",
    )
    assert code == 0
    g = Graph().parse(data=out, format="nt" if fmt == "ntriples" else "turtle")
    assert len(g) >= 17


def test_bad_query_is_one_line_with_the_position_and_exit_2(built: BuildInfo) -> None:
    code, _, err = _invoke(built, "query", "SELECT ?x WHERE { ?x ?y }")
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("Error")]
    assert len(lines) == 1
    assert "1:" in lines[0]


def test_validate_conforms_on_the_real_data() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "Conforms: True" in result.stdout


def test_validate_turtle_report_parses() -> None:
    result = CliRunner().invoke(main, ["validate", "--format", "turtle"])
    assert result.exit_code == 0
    g = Graph().parse(data=result.stdout, format="turtle")
    assert (None, None, None) in g


def test_validate_exits_1_on_a_violation(project_copy: Path) -> None:
    data = project_copy / "data" / "memberships.ttl"
    data.write_text(data.read_text().replace("org:role role:partner ;", "", 1))
    result = CliRunner().invoke(main, ["--project-dir", str(project_copy), "validate"])
    assert result.exit_code == 1
    assert "Conforms: False" in result.stdout


def test_installed_console_command_runs() -> None:
    exe = Path(sys.executable).with_name("escp4i")
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "build" in done.stdout and "serve" in done.stdout
