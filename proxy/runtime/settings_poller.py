"""Keeps the editable settings (header rules, body capture) in memory, fresh from the database,
so no request ever waits for it."""
import logging
import threading

from playhouse.pool import PooledDatabase

import models
from proxy.runtime.background import BackgroundLoop
from proxy.recording.body_capture import BodyCapture
from proxy.header_rules import HeaderRules

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5


class SettingsPoller(BackgroundLoop):
    """Holds the current settings; a background thread reloads them within `interval` of a saved change.

    Every worker and process runs one, so a change saved anywhere applies everywhere without
    a restart. Requests only read `current` (the header rules) and `capture`; the database is
    touched by the thread alone.
    """

    thread_name = "settings-poller"

    def __init__(self, interval: float = POLL_INTERVAL):
        super().__init__()
        self.current = HeaderRules()
        self.capture = BodyCapture()
        self.interval = interval
        self.failures = 0
        self._versions: dict | None = None
        self._first_poll = threading.Event()

    def start(self, wait: float = 2.0) -> None:
        """Start polling (a greenlet under gevent); wait up to `wait` s for the first load."""
        super().start()
        # Rules saved before this process started should apply to its first request; a
        # database that is down must not hold up start-up for long, though.
        self._first_poll.wait(wait)

    def refresh(self) -> bool:
        """Reload the settings if a saved version moved; True when they were reloaded."""
        try:
            # The connection stays open between polls (autocommit, so no transaction lingers):
            # reconnecting costs SQLite several times the query, all of it blocking the gevent hub.
            versions = models.setting_versions()
            if versions == self._versions:
                return self._recovered(False)
            stored = models.load_proxy_settings()
        except Exception as exc:  # a broken database must not stop polling: the last good settings stay
            self.failures += 1
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(level, "cannot read the settings (%s); keeping the last good ones", exc)
            _close_connection()  # the next poll starts on a fresh one
            return False
        # A save between the two reads makes `versions` older than `stored`: the next poll
        # sees a newer version and loads again, so this converges.
        self.current = HeaderRules.from_stored(stored)
        self.capture = BodyCapture.from_stored(stored)
        self._versions = versions
        log.info("settings loaded: %d request and %d response header rules; body capture %s, cap %s bytes",
                 len(self.current.request), len(self.current.response), self.capture.mode,
                 self.capture.max_bytes or "no")
        return self._recovered(True)

    def _recovered(self, result: bool) -> bool:
        if self.failures:
            log.warning("settings readable again after %d failed poll(s)", self.failures)
            self.failures = 0
        return result

    def _run(self) -> None:
        try:
            while True:
                self.refresh()
                self._first_poll.set()
                if isinstance(getattr(models.database, "obj", None), PooledDatabase):
                    # Back to the pool between polls: the dashboard's queries reuse it, so a worker
                    # holds two connections (this one and the recorder's writer), not three.
                    _close_connection()
                if self._stopping.wait(self.interval):
                    return
        finally:
            _close_connection()  # connections belong to this thread: only it can give its own back


def _close_connection() -> None:
    try:
        models.database.close()
    except Exception:  # already gone, or never opened (an unbound database)
        pass
