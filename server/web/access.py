"""Around every request: a request id, the access log line, the metrics, the security headers.

WSGI middleware, outermost, so that replays from the response cache and errors raised before
Flask routes are logged, counted and hardened like every other answer.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

from . import metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("server.access")

#: Where the request id is kept for the app (the 500 handler quotes it).
REQUEST_ID: Final = "escp.request_id"
#: Answers that say they are at most this long are joined here and handed to the server as
#: one list: granian writes a list in one piece, but any other iterable it drives chunk by
#: chunk, back and forth across the GIL (3-7 % of the request thread at 1 client, py-spy).
JOIN_BYTES: Final = 1 << 20
#: A client's id is taken only if it is this tame; anything else is replaced.
_CLIENT_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Every response: no MIME sniffing, no referrer to other hosts, no framing, and a policy
#: that lets pages load scripts, styles, images and fonts only from this host.
SECURITY_HEADERS: Final = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'",
    ),
)


class AccessLog:
    """WSGI middleware: request id, access log, metrics and security headers for each answer."""

    def __init__(self, app: WSGIApplication, *, release: str) -> None:
        self.app = app
        metrics.RELEASE.labels(release=release).set(1)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        given = str(environ.get("HTTP_X_REQUEST_ID", ""))
        request_id = given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex
        environ[REQUEST_ID] = request_id
        path = str(environ.get("PATH_INFO", ""))
        if path == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._metrics(environ, start_response, request_id, started)
        seen: dict[str, str] = {}

        def respond(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            seen["status"] = status[:3]
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            if length is not None:
                seen["length"] = length
            headers = _hardened(headers, request_id)
            return start_response(status, headers, exc_info)  # type: ignore[arg-type]  # WSGI's optional third argument

        body = self.app(environ, respond)  # type: ignore[arg-type]  # same signature, wrapped
        logged = _Logged(body, environ, seen, started)
        if environ.get("REQUEST_METHOD") != "HEAD" and _joinable(seen.get("length")):
            try:
                data = b"".join(body)
                logged.sent = len(data)
            finally:
                logged.close()  # closes the app's body and writes the log line, once
            return [data]
        return logged

    def _metrics(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        request_id: str,
        started: float,
    ) -> Iterable[bytes]:
        data = metrics.exposition()
        headers = [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(data)))]
        headers.append(("Cache-Control", "no-store"))
        start_response("200 OK", _hardened(headers, request_id))
        return _Logged([data], environ, {"status": "200"}, started)


class _Logged:
    """The answer's body, passed through; when the server closes it, log and count the request."""

    def __init__(
        self, body: Iterable[bytes], environ: WSGIEnvironment, seen: dict[str, str], started: float
    ) -> None:
        self.body = body
        self.environ = environ
        self.seen = seen
        self.started = started
        self.sent = 0
        self.recorded = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk
        self._record()

    def close(self) -> None:
        try:
            closer = getattr(self.body, "close", None)
            if closer is not None:
                closer()
        finally:
            self._record()

    def _record(self) -> None:
        # Once: at the end of the body, or at close when the client went away before it.
        if self.recorded:
            return
        self.recorded = True
        env = self.environ
        seconds = time.perf_counter() - self.started
        status = self.seen.get("status", "000")
        path = str(env.get("PATH_INFO", ""))
        fam = metrics.family(path)
        metrics.REQUESTS.labels(family=fam, status=status).inc()
        metrics.LATENCY.labels(family=fam).observe(seconds)
        query = env.get("QUERY_STRING")
        target = path + (f"?{query}" if query else "")
        log.info(
            '%s "%s %s %s" %s %d %.1fms id=%s',
            env.get("REMOTE_ADDR", "-"),
            env.get("REQUEST_METHOD", "-"),
            target[:2000],
            env.get("SERVER_PROTOCOL", "-"),
            status,
            self.sent,
            seconds * 1000,
            env.get(REQUEST_ID, "-"),
            extra={
                "client": env.get("REMOTE_ADDR"),
                "method": env.get("REQUEST_METHOD"),
                "path": path,
                "status": int(status),
                "bytes": self.sent,
                "ms": round(seconds * 1000, 2),
                "request_id": env.get(REQUEST_ID),
                "family": fam,
            },
        )


def _joinable(length: str | None) -> bool:
    """Tell whether a declared Content-Length is small enough to join the body here.

    >>> _joinable("1024"), _joinable(None), _joinable(str(JOIN_BYTES + 1)), _joinable("x")
    (True, False, False, False)
    """
    return length is not None and length.isdigit() and int(length) <= JOIN_BYTES


def _hardened(headers: list[tuple[str, str]], request_id: str) -> list[tuple[str, str]]:
    names = {name.lower() for name, _ in headers}
    out = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
    out += [(k, v) for k, v in SECURITY_HEADERS if k.lower() not in names]
    out.append(("X-Request-ID", request_id))
    return out
