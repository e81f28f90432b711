"""Logs: text for people, one JSON object a line for collectors (samizdat/logs.py)."""

import json
import logging

import pytest

from samizdat import logs
from samizdat.config import ConfigError, LogSettings, load_settings


@pytest.fixture
def restore_logging():
    logger = logging.getLogger("samizdat")
    handlers, level = logger.handlers[:], logger.level
    yield
    logger.handlers[:], logger.level = handlers, level


def test_json_logs_keep_the_event_and_its_fields_apart(capsys, restore_logging):
    logs.configure(LogSettings(format="json"))
    logs.event(
        logging.getLogger("samizdat.watch"), "article_removed", "removed: 标题", article_id=7, outcome="x"
    )
    logging.getLogger("samizdat.other").debug("below the level")
    (line,) = capsys.readouterr().err.splitlines()
    entry = json.loads(line)
    assert entry["event"] == "article_removed" and entry["article_id"] == 7 and entry["outcome"] == "x"
    assert entry["message"] == "removed: 标题" and entry["level"] == "info" and entry["at"].endswith("+00:00")


def test_text_logs_are_a_line_with_the_fields_after_it(capsys, restore_logging):
    logs.configure(LogSettings(format="text", level="debug"))
    logs.event(logging.getLogger("samizdat.fetch"), "host_backing_off", "slow down", host="h", seconds=60)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith("samizdat.fetch: slow down event=host_backing_off host=h seconds=60")


def test_a_wrong_log_setting_names_the_key_and_the_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"log\.format: expected one of text, json, got 'yaml'"):
        load_settings(environ={"SAMIZDAT_LOG__FORMAT": "yaml"}, cwd=tmp_path)
    assert load_settings(environ={"SAMIZDAT_LOG__LEVEL": "debug"}, cwd=tmp_path).log.level == "debug"
