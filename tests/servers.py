"""Real server processes for tests: started on free 127.0.0.1 ports, stopped by PID.

Use them from a fixture, stopping in its finaliser::

    @pytest.fixture(scope="module")
    def site(built: BuildInfo) -> Iterator[Server]:
        with start_app_server({"ESCP_DATA_DIR": data_dir(built)}) as server:
            yield server
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from server.build.info import BuildInfo

BIN = Path(sys.executable).parent
#: Seconds a server may take to answer its first request.
START_TIMEOUT = 60.0


@dataclass
class Server:
    """A running server: where it answers, and the process to stop."""

    url: str
    pid: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait()
        self.log.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of what the server wrote to stdout and stderr."""
        if not self.log.exists():
            return ""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def data_dir(built: BuildInfo) -> str:
    """Return the data folder (the one with ``current``) of a build."""
    return str(Path(built.path).parents[1])


def start_app_server(env: Mapping[str, str], *, args: Sequence[str] = ()) -> Server:
    """Run the production command, ``escp4i serve --port N``, until /health answers.

    :param env: added to this process's environment, e.g. ``ESCP_DATA_DIR`` of a build.
    :param args: more ``serve`` options, e.g. ``["--workers", "1"]``.
    """
    port = free_port()
    command = [str(BIN / "escp4i"), "serve", "--port", str(port), *args]
    # As served for real: the pages made from whole-release lists are rendered at start.
    env = {"ESCP_WARM_PAGES": "true", **env}
    return _start(command, env, f"http://127.0.0.1:{port}", ready="/health", any_status=False)


def start_oxigraph(
    location: Path, *, writable: bool = False, union_default_graph: bool = False
) -> Server:
    """Run an Oxigraph server (PyPI ``oxigraph``) on a store folder until it answers.

    Read-only by default (``serve-read-only`` serves the ``store`` folder of a build as it
    is); ``writable`` runs ``serve``, whose ``/store`` takes Graph Store Protocol writes.
    """
    port = free_port()
    command = [
        str(BIN / "oxigraph"),
        "serve" if writable else "serve-read-only",
        "--location",
        str(location),
        "--bind",
        f"127.0.0.1:{port}",
    ]
    if union_default_graph:
        command.append("--union-default-graph")
    return _start(command, {}, f"http://127.0.0.1:{port}", ready="/query", any_status=True)


def _start(
    command: Sequence[str], env: Mapping[str, str], url: str, *, ready: str, any_status: bool
) -> Server:
    fd, log_name = tempfile.mkstemp(prefix="server-", suffix=".log")
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(url, process.pid, process, Path(log_name))
    try:
        _wait_until_ready(server, url + ready, any_status=any_status)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_ready(server: Server, url: str, *, any_status: bool) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"server exited with {code}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            exc.close()
            if any_status:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {START_TIMEOUT} s:\n{server.log_tail()}")


class EngineMissingError(RuntimeError):
    """A SPARQL engine the engine tests need is not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not installed: run `./run test-engines`, which installs it")


#: Where `./run test-engines` installs Comunica (gitignored).
ENGINES_DIR = Path(__file__).resolve().parents[1] / ".cache" / "engines"
COMUNICA = ENGINES_DIR / "node_modules" / ".bin" / "comunica-sparql-file-http"
_LOOPBACK = Path(__file__).resolve().parent / "engines" / "loopback.cjs"
#: Debian's virtuoso-opensource 7 settings for a throw-away database in one folder.
_VIRTUOSO_INI = """\
[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DirsAllowed = ., {folder}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerThreads = 10
[SPARQL]
; Its default of 10,000 rows would cut results; the app has its own row cap.
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 0
"""


def start_virtuoso(folder: Path) -> Server:
    """Run Virtuoso Open Source 7 (Debian's ``virtuoso-t``) on an empty database in ``folder``.

    Its SPARQL endpoint is ``/sparql``; ``/sparql-graph-crud-auth`` takes Graph Store
    Protocol writes with Digest authentication as ``dba`` (password ``dba`` in a fresh
    database).

    :raises EngineMissingError: when Virtuoso is not installed.
    """
    binary = shutil.which("virtuoso-t")
    if binary is None:
        raise EngineMissingError("Virtuoso (Debian's virtuoso-opensource, virtuoso-t)")
    folder.mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        _VIRTUOSO_INI.format(folder=folder, sql_port=free_port(), http_port=http_port),
        encoding="utf-8",
    )
    command = [binary, "-c", str(ini), "+foreground"]
    return _start(command, {}, f"http://127.0.0.1:{http_port}", ready="/sparql", any_status=True)


def start_comunica(files: Sequence[Path], *, timeout: float = 60.0) -> Server:
    """Run Comunica's SPARQL endpoint over RDF files, until it answers at ``/sparql``.

    Its default graph is the union of the files' graphs (``--unionDefaultGraph``); it stops
    a query after ``timeout`` seconds by restarting its worker.

    :raises EngineMissingError: when `./run test-engines` has not installed it.
    """
    if not COMUNICA.exists():
        raise EngineMissingError(f"Comunica ({COMUNICA})")
    port = free_port()
    command = [str(COMUNICA), *map(str, files), "--port", str(port)]
    command += ["--timeout", str(int(timeout)), "--unionDefaultGraph"]
    env = {"NODE_OPTIONS": f"--require {_LOOPBACK}"}
    return _start(command, env, f"http://127.0.0.1:{port}", ready="/sparql", any_status=True)
