"""Logging of every program: ``--log.level``/``--log.format`` with logfmt or JSON lines carrying
the fields passed as ``extra`` (the servers: ghost-exporter, ghost-remediate), and ``--log-level``
with plain text lines (the load and demo tools: ghost-stress, ghost-demo)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    millis = int(record.msecs)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{millis:03d}Z"


def _logfmt_value(value: Any) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\\\n\t'):
        return text
    return json.dumps(text, ensure_ascii=False)


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        line = " ".join(f"{k}={_logfmt_value(v)}" for k, v in pairs.items())
        if record.exc_info:
            line += " exc=" + _logfmt_value(self.formatException(record.exc_info))
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **{
                k: v if isinstance(v, int | float | bool) else str(v)
                for k, v in _fields(record).items()
            },
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def add_logging_flags(parser: argparse.ArgumentParser) -> None:
    """``--log.level`` and ``--log.format``, as Prometheus's own programs spell them."""
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default="info",
        choices=["debug", "info", "warn", "error"],
        help="only log messages with this severity or above (default: info)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=["logfmt", "json"],
        help="log format (default: logfmt)",
    )


class MalformedRequestFilter(logging.Filter):
    """Log a request that aiohttp's parser refused without quoting it.

    aiohttp logs such a request with a traceback whose message quotes the start of the offending
    line, which can be an ``Authorization`` header: the record is reduced to the error's class and
    status, and nothing the client sent.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError  # loaded with aiohttp already

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = "refused a malformed request"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.error = type(exc).__name__
            record.status = exc.code
        return True


def setup_logging(level: str = "info", fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(MalformedRequestFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


#: The line format of ``setup_text_logging``.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def add_log_level_flag(parser: argparse._ActionsContainer) -> None:
    """``--log-level`` of the tools that log plain text lines."""
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level on stderr (default info)",
    )


def setup_text_logging(level: str = "info") -> None:
    """Plain text lines on stderr: time, level, logger and message."""
    logging.basicConfig(level=level.upper(), format=TEXT_FORMAT, stream=sys.stderr)
