"""nginx in front of app instances, for tests and the benchmark: deploy/nginx.conf.template
rendered with a free port and a temporary folder, run as a non-root user, stopped by PID.

Use it from a fixture, stopping in its finaliser::

    with start_nginx([one.url, two.url]) as proxy:
        urllib.request.urlopen(proxy.url + "/health")
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final
from urllib.parse import urlsplit

# By its package path: the benchmark imports this module as tests.nginx.
from tests.servers import free_port

ROOT: Final = Path(__file__).resolve().parents[1]
TEMPLATE: Final = ROOT / "deploy" / "nginx.conf.template"
NGINX: Final = "/usr/sbin/nginx"
#: Who runs nginx when this process is root: nginx never runs as root here.
UNPRIVILEGED: Final = "nobody"
#: Seconds nginx may take to answer its first request.
START_TIMEOUT: Final = 20.0
_PLACEHOLDER: Final = re.compile(r"@([A-Z_]+)@")


@dataclass
class Nginx:
    """A running nginx: where it answers, its folder (logs, cache) and the process to stop."""

    url: str
    pid: int
    prefix: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "error.log"

    def log_lines(self, log: Path | None = None) -> list[str]:
        """Return the lines of the access log (or another of its logs) written so far."""
        path = log or self.access_log
        if not path.exists():
            return []
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self, grace: float = 10.0) -> None:
        """Stop nginx by its PID (SIGQUIT: finish what is in flight), then remove its folder."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGQUIT)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> Nginx:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def render(upstreams: Sequence[str], *, listen: str, prefix: Path, cache_mb: int = 256) -> str:
    """Return deploy/nginx.conf.template with its placeholders filled in.

    :param upstreams: the instances' base URLs, e.g. ``http://127.0.0.1:5001``.
    :raises KeyError: when the template has a placeholder this function does not know.

    >>> text = render(["http://127.0.0.1:5001"], listen="127.0.0.1:8080", prefix=Path("/p"))
    >>> "server 127.0.0.1:5001 max_fails=0;" in text, "@LISTEN@;" in text
    (True, False)
    """
    servers = "\n        ".join(f"server {_host_port(url)} max_fails=0;" for url in upstreams)
    values = {"PREFIX": str(prefix), "LISTEN": listen, "SERVERS": servers}
    values["CACHE_MB"] = str(cache_mb)
    lines = []
    # Comments name the placeholders too: only the directives are filled in.
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("#"):
            line = _PLACEHOLDER.sub(lambda m: values[m.group(1)], line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def start_nginx(upstreams: Sequence[str], *, cache_mb: int = 256) -> Nginx:
    """Run nginx over the instances on a free 127.0.0.1 port until it answers."""
    if not Path(NGINX).exists():
        raise RuntimeError(f"{NGINX} is missing: run `./run e2e-deps` (Debian's nginx)")
    port = free_port()
    prefix = Path(tempfile.mkdtemp(prefix="nginx-"))
    try:
        command, user = _prepare(prefix, upstreams, port=port, cache_mb=cache_mb)
        process = subprocess.Popen(  # noqa: S603 - nginx with a configuration written here
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=user,
        )
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)
        raise
    proxy = Nginx(f"http://127.0.0.1:{port}", process.pid, prefix, process)
    try:
        _wait_until_ready(proxy)
    except BaseException:
        proxy.stop()
        raise
    return proxy


def _prepare(
    prefix: Path, upstreams: Sequence[str], *, port: int, cache_mb: int
) -> tuple[list[str], str | None]:
    """Write the configuration into the folder and test it; return the command and its user."""
    for sub in ("tmp", "cache"):
        (prefix / sub).mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(render(upstreams, listen=f"127.0.0.1:{port}", prefix=prefix, cache_mb=cache_mb))
    user = _unprivileged(prefix)
    command = [NGINX, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")]
    command += ["-g", "daemon off;"]
    check = subprocess.run(  # noqa: S603 - nginx with a configuration written here
        [*command, "-t", "-q"], capture_output=True, text=True, timeout=30, check=False, user=user
    )
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t rejects {conf}:\n{check.stderr}")
    return command, user


def _unprivileged(prefix: Path) -> str | None:
    """Hand the folder to an unprivileged user when this process is root; return that user."""
    if os.geteuid() != 0:
        return None
    account = pwd.getpwnam(UNPRIVILEGED)
    prefix.chmod(0o755)
    for path in [prefix, *prefix.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    return UNPRIVILEGED


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
        raise ValueError(f"upstreams are loopback host:port URLs, not {url}")
    return f"{parts.hostname}:{parts.port}"


def _wait_until_ready(proxy: Nginx) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            tail = "\n".join(proxy.log_lines(proxy.error_log)[-20:])
            raise RuntimeError(f"nginx exited with {proxy.process.returncode}:\n{tail}")
        try:
            # Any answer will do: nginx is up even when no instance is.
            with urllib.request.urlopen(proxy.url + "/health", timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError as exc:
            exc.close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx not ready after {START_TIMEOUT} s")
