"""Logging of the serving processes: one line per record on stderr, as text or as JSON.

Configured once, by the server entry point in each worker (never at import). The access log
is ours (``server.access``, with the request id); the servers' own access logs are off.
"""

from __future__ import annotations

from typing import Any, Final

FORMATS: Final = ("text", "json")
_TEXT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"


def logging_config(fmt: str = "text") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` mapping for the chosen format.

    >>> logging_config("json")["formatters"]["default"]["()"]
    'pythonjsonlogger.json.JsonFormatter'
    >>> sorted(logging_config()["loggers"])
    ['_granian', 'gunicorn.error', 'server']
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}")
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": _JSON,
            "rename_fields": {"levelname": "level", "name": "logger"},
        }
        if fmt == "json"
        else {"()": "logging.Formatter", "fmt": _TEXT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "stream": "ext://sys.stderr",
    }
    logger = {"handlers": ["stderr"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"stderr": handler},
        "loggers": {"server": logger, "_granian": dict(logger), "gunicorn.error": dict(logger)},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
