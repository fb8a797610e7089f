"""Log lines: readable text on a console, or one JSON object per line
(`STRONGBOX_LOG_FORMAT=json`) for log collectors.

Lines written while a job runs carry the job's `kind`, `database` and `name`, from a context
variable the job sets (`job_scope`); both formats show them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO


@dataclass(frozen=True)
class JobFields:
    kind: str  # "backup", "restore", ...
    database: str
    name: str


_current_job: ContextVar[JobFields | None] = ContextVar("strongbox_job", default=None)
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(job)s%(message)s"


@contextmanager
def job_scope(kind: str, database: str, name: str) -> Iterator[None]:
    """Lines logged inside (in this thread) carry the job's kind, database and name."""
    token = _current_job.set(JobFields(kind, database, name))
    try:
        yield
    finally:
        _current_job.reset(token)


class JobFilter(logging.Filter):
    """Puts the running job's fields on each record (`job_kind`, `job_database`, `job_name`,
    and `job`, a prefix for the console)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job = _current_job.get()
        record.job_kind = job.kind if job else None
        record.job_database = job.database if job else None
        record.job_name = job.name if job else None
        record.job = f"[{job.kind} {job.database}/{job.name}] " if job else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the job's
    fields when a job runs, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        kind = getattr(record, "job_kind", None)
        if kind is not None:
            line["kind"] = kind
            line["database"] = getattr(record, "job_database", None)
            line["name"] = getattr(record, "job_name", None)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def handler_for(log_format: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(JobFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    return handler


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Send every logger's lines (uvicorn's too, when they propagate) through one handler in
    the chosen format."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler_for(log_format))
    root.setLevel(level)
