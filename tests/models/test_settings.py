"""Settings storage on SQLite and on a real PostgreSQL: JSON values, versions that readers poll."""
import threading

import pytest

import models
from models.settings import (BODY_CAPTURE, BODY_MAX_BYTES, REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES,
                             load_settings, save_settings)

RULE = {"header": "X-Team", "action": "set", "value": "blue", "find": "", "enabled": True}


def test_migration_step_2_adds_the_settings_table(migrated):
    assert models.current_version() >= 2
    assert migrated.table_exists("setting")


def test_nothing_saved_means_the_defaults_and_no_versions(migrated):
    assert models.load_proxy_settings() == {REQUEST_HEADER_RULES: [], RESPONSE_HEADER_RULES: [],
                                            BODY_CAPTURE: "all", BODY_MAX_BYTES: 1024 * 1024}
    assert models.setting_versions() == {}


def test_values_round_trip_as_json_and_each_save_bumps_the_version(migrated):
    save_settings({"a": {"nested": [1, "two", None]}, "b": "text"})
    assert load_settings(["a", "b", "missing"]) == {"a": {"nested": [1, "two", None]}, "b": "text"}
    assert models.setting_versions() == {"a": 1, "b": 1}
    save_settings({"a": []})
    assert models.setting_versions() == {"a": 2, "b": 1}
    assert load_settings(["a"]) == {"a": []}


def test_saving_one_rule_list_leaves_the_other_as_it_was(migrated):
    saved = models.save_proxy_settings({REQUEST_HEADER_RULES: [RULE], RESPONSE_HEADER_RULES: [RULE]})
    assert (saved[REQUEST_HEADER_RULES], saved[RESPONSE_HEADER_RULES]) == ([RULE], [RULE])
    saved = models.save_proxy_settings({RESPONSE_HEADER_RULES: []})
    assert (saved[REQUEST_HEADER_RULES], saved[RESPONSE_HEADER_RULES]) == ([RULE], [])
    assert models.setting_versions() == {REQUEST_HEADER_RULES: 1, RESPONSE_HEADER_RULES: 2}


def test_only_known_setting_keys_are_accepted(migrated):
    with pytest.raises(ValueError, match="not proxy settings"):
        models.save_proxy_settings({"something_else": []})
    assert models.setting_versions() == {}


def test_concurrent_saves_each_bump_the_version_on_postgres(postgres_url):
    database = models.init_db(postgres_url)
    models.migrate()
    errors = []

    def save():
        try:
            for _ in range(5):
                models.save_proxy_settings({REQUEST_HEADER_RULES: [RULE]})
        except Exception as exc:  # reported below: an exception in a thread cannot fail the test
            errors.append(exc)
        finally:
            models.database.close()

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == []
        assert models.setting_versions() == {REQUEST_HEADER_RULES: 20}, "a lost bump would hide a change from pollers"
    finally:
        database.close()
        database.close_all()
