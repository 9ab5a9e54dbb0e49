"""The one error renderer: RFC 9457 problem+json for machines, an HTML page for browsers."""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from server.errors import AppError

log = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"


def register_error_handlers(app: Flask) -> None:
    """Render every error in one format, whatever raised it."""

    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Response:
        return render_problem(exc.status, exc.title, exc.detail, exc.extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        response = render_problem(status, exc.name, exc.description or exc.name, {})
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # The id the access log and the X-Request-ID header carry (server.web.access).
        request_id = str(request.environ.get("escp.request_id") or uuid.uuid4().hex)
        log.error("unhandled error, request id %s", request_id, exc_info=exc)
        return render_problem(
            500,
            "Internal server error",
            "The server failed to answer this request. Quote the request id if you report it.",
            {"request_id": request_id},
        )


def render_problem(status: int, title: str, detail: str, extra: dict[str, Any]) -> Response:
    """Render a problem as HTML for browsers and problem+json for everyone else."""
    problem = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    if _prefers_html():
        response = Response(
            render_template("error.html", problem=problem),
            status=status,
            mimetype="text/html",
        )
    else:
        response = jsonify(problem)
        response.status_code = status
        response.mimetype = PROBLEM_JSON
    if status in (429, 503) and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(extra.get("retry_after", 5))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def _prefers_html() -> bool:
    accept = request.accept_mimetypes
    if not accept:
        return False
    best = accept.best_match(["application/json", PROBLEM_JSON, "text/html"])
    # A bare */* (curl, SPARQL clients) gets JSON; only an explicit text/html gets a page.
    return best == "text/html" and accept["text/html"] > accept["application/json"]
