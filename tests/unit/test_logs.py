"""Log lines in JSON carry the running job's kind, database and name."""

from __future__ import annotations

import io
import json
import logging
import threading

from strongbox import logs


def lines_of(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_job_only_inside_its_scope() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("strongbox.test.logs")
    logger.propagate = False
    logger.addHandler(logs.handler_for("json", stream))
    logger.setLevel(logging.INFO)
    try:
        logger.info("before")
        with logs.job_scope("backup", "prod", "nightly-20261124-0200"):
            logger.warning("dumping %s", "app")
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("it broke")
        logger.info("after")
    finally:
        logger.handlers.clear()
    before, dumping, broke, after = lines_of(stream)
    assert "kind" not in before
    assert "kind" not in after
    assert dumping["message"] == "dumping app"
    assert dumping["level"] == "warning"
    assert dumping["logger"] == "strongbox.test.logs"
    assert (dumping["kind"], dumping["database"], dumping["name"]) == (
        "backup",
        "prod",
        "nightly-20261124-0200",
    )
    assert broke["name"] == "nightly-20261124-0200"
    assert "ValueError: boom" in str(broke["exception"])
    assert str(dumping["time"]).endswith("+00:00")


def test_another_thread_does_not_see_a_job_it_does_not_run() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("strongbox.test.threads")
    logger.propagate = False
    logger.addHandler(logs.handler_for("json", stream))
    logger.setLevel(logging.INFO)
    try:
        with logs.job_scope("restore", "prod", "r1"):
            other = threading.Thread(target=lambda: logger.info("elsewhere"))
            other.start()
            other.join()
            logger.info("here")
    finally:
        logger.handlers.clear()
    elsewhere, here = lines_of(stream)
    assert "kind" not in elsewhere
    assert here["kind"] == "restore"


def test_console_lines_name_the_job_in_front() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("strongbox.test.console")
    logger.propagate = False
    logger.addHandler(logs.handler_for("console", stream))
    try:
        with logs.job_scope("backup", "prod", "b1"):
            logger.warning("slow")
    finally:
        logger.handlers.clear()
    assert "WARNING strongbox.test.console: [backup prod/b1] slow" in stream.getvalue()
