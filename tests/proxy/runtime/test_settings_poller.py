"""The rules poller: reloads only when a saved version moves, survives a broken database, stops cleanly."""
import logging
import threading
import time

import requests

import models
from models.settings import REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES
from proxy.header_rules import HeaderRule, HeaderRules
from proxy.runtime.settings_poller import SettingsPoller

BLOCK = {"header": "X-A", "action": "block", "value": "", "find": "", "enabled": True}
SET = {"header": "X-B", "action": "set", "value": "1", "find": "", "enabled": True}


def test_rules_load_and_reload_only_when_a_version_moved(app, monkeypatch):
    models.save_proxy_settings({REQUEST_HEADER_RULES: [BLOCK]})
    poller = SettingsPoller()
    assert poller.refresh() is True
    assert poller.current == HeaderRules(request=(HeaderRule("X-A", "block"),))

    loads = []
    real_load = models.load_proxy_settings
    monkeypatch.setattr(models, "load_proxy_settings", lambda: loads.append(1) or real_load())
    assert poller.refresh() is False
    assert loads == [], "an unchanged version must not reload the rules"

    models.save_proxy_settings({RESPONSE_HEADER_RULES: [SET]})
    assert poller.refresh() is True
    assert loads == [1]
    assert poller.current == HeaderRules(request=(HeaderRule("X-A", "block"),),
                                         response=(HeaderRule("X-B", "set", "1"),))


def test_a_broken_database_keeps_the_last_good_rules(app, caplog):
    models.save_proxy_settings({REQUEST_HEADER_RULES: [BLOCK]})
    poller = SettingsPoller()
    poller.refresh()
    good = poller.current
    models.database.execute_sql("ALTER TABLE setting RENAME TO setting_away")
    try:
        with caplog.at_level(logging.WARNING, logger="proxy.runtime.settings_poller"):
            assert poller.refresh() is False
            assert poller.refresh() is False
    finally:
        models.database.execute_sql("ALTER TABLE setting_away RENAME TO setting")
    assert poller.current is good
    assert poller.failures == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "keeping the last good ones" in warnings[0], "one warning per outage"

    with caplog.at_level(logging.WARNING, logger="proxy.runtime.settings_poller"):
        assert poller.refresh() is False  # same version as before the outage: nothing to reload
    assert poller.failures == 0
    assert "readable again after 2 failed poll(s)" in caplog.text
    models.save_proxy_settings({REQUEST_HEADER_RULES: []})
    assert poller.refresh() is True
    assert poller.current == HeaderRules()


def test_stop_ends_the_polling_thread(app):
    poller = SettingsPoller(interval=0.05)
    poller.start()
    thread = poller._thread
    assert thread.is_alive()
    poller.stop()
    assert not thread.is_alive()
    poller.stop()  # stopping twice is harmless


def test_proxied_requests_never_touch_the_database(app, live_proxy, upstream, monkeypatch):
    models.save_proxy_settings({REQUEST_HEADER_RULES: [SET]})
    poller = app.extensions["proxy"].settings
    callers = []
    database = models.database.obj
    real_execute = database.execute_sql

    def execute_sql(*args, **kwargs):
        callers.append(threading.current_thread().name)
        return real_execute(*args, **kwargs)

    monkeypatch.setattr(database, "execute_sql", execute_sql)
    deadline = time.monotonic() + 2
    while poller.current.request != (HeaderRule("X-B", "set", "1"),):
        assert time.monotonic() < deadline, "the poller never loaded the saved rule"
        time.sleep(0.05)
    for _ in range(5):
        response = requests.post(live_proxy + "/v1/messages", timeout=10, json={
            "model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 200 and b"message_stop" in response.content
    assert [seen.headers.get("x-b") for seen in upstream.seen] == ["1"] * 5
    assert app.extensions["proxy"].recorder.flush(10)
    assert callers, "the recorder and the poller do use the database"
    assert set(callers) <= {"recorder", "settings-poller"}, "a request thread queried the database"
