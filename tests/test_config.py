"""Configuration comes from the environment, with defaults and clear errors."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import Config


def test_defaults_without_environment():
    config = Config.from_env({})
    assert config.upstream_url == "https://api.anthropic.com"
    assert config.database_url.startswith("sqlite:///")
    assert (config.upstream_connect_timeout, config.upstream_read_timeout) == (10.0, 600.0)
    assert config.max_request_body == 32 * 1024 * 1024


def test_environment_overrides():
    config = Config.from_env({"UPSTREAM_URL": "http://gateway.local/anthropic", "UPSTREAM_READ_TIMEOUT": "30",
                              "MAX_REQUEST_BODY": "1000", "DATABASE_URL": "postgres://u@h/db"})
    assert config.upstream_url == "http://gateway.local/anthropic"
    assert config.upstream_read_timeout == 30.0
    assert config.max_request_body == 1000
    assert config.database_url == "postgres://u@h/db"


def test_bad_values_name_the_variable():
    with pytest.raises(ValueError, match="UPSTREAM_CONNECT_TIMEOUT='soon'"):
        Config.from_env({"UPSTREAM_CONNECT_TIMEOUT": "soon"})


def test_an_upstream_path_prefix_is_kept(upstream, make_app):
    app = make_app(upstream_url=upstream.url + "/anthropic/")
    app.test_client().post("/v1/messages/count_tokens?beta=true", json={"model": "m", "messages": []})
    assert upstream.seen[0].path == "/anthropic/v1/messages/count_tokens"
    assert upstream.seen[0].query == "beta=true"


def test_the_transcript_folder_defaults_to_claude_codes_own():
    assert Config.from_env({}).claude_projects_dir == "~/.claude/projects"
    assert Config.from_env({"CLAUDE_PROJECTS_DIR": "/srv/transcripts"}).claude_projects_dir == "/srv/transcripts"


@pytest.mark.parametrize("url, reason", [
    ("mysql://x/y", "unsupported DATABASE_URL scheme 'mysql'"),
    ("postgres://u@127.0.0.1:1/db?sslmod=require", "parameters libpq does not know: sslmod"),
])
def test_init_db_refuses_a_database_url_it_cannot_use_with_the_reason_alone(tmp_path, url, reason):
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "app.py", "init-db"], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": url, "CONFIG_PATH": ""}, timeout=60)
    assert done.returncode == 1
    assert reason in done.stderr
    assert "Traceback" not in done.stderr


def test_log_level_names_are_gunicorns_in_any_case():
    assert Config.from_env({"LOG_LEVEL": "WARNING"}).log_level == "warning"
    assert Config.from_env({}).log_level == "info"
    with pytest.raises(ValueError, match="LOG_LEVEL='loud' is not one of debug, info"):
        Config.from_env({"LOG_LEVEL": "loud"})


@pytest.mark.parametrize("level, per_request_lines", [("", True), ("warning", False)])
def test_log_level_decides_whether_each_request_is_logged(tmp_path, level, per_request_lines):
    root = Path(__file__).resolve().parent.parent
    check = ("import logging, app; app.create_app(); "
             "print(logging.getLogger('proxy.access').isEnabledFor(logging.INFO))")
    done = subprocess.run([sys.executable, "-c", check], cwd=root, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LOG_LEVEL": level, "CONFIG_PATH": os.devnull,
                               "DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(per_request_lines)


def test_body_retention_is_its_own_setting():
    assert Config.from_env({}).body_retention_days is None
    config = Config.from_env({"RETENTION_DAYS": "365", "BODY_RETENTION_DAYS": "14"})
    assert (config.retention_days, config.body_retention_days) == (365, 14)
