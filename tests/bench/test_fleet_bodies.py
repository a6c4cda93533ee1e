"""The fleet suite at its quick size: gunicorn with 4 gevent workers on a throwaway PostgreSQL, and every
record's bodies read back as the client sent them and the fake upstream received and sent them."""
import pytest

import models
from bench import fleet_suite


@pytest.mark.postgres_only  # the fleet runs on a PostgreSQL cluster of its own, whatever TEST_DATABASE says
def test_every_fleet_record_reads_back_as_sent_and_answered(tmp_path):
    previous = models.database.obj  # the suite points the models at the fleet's database to read it
    try:
        fleet = fleet_suite.run_fleet(quick=True, log_path=tmp_path / "gunicorn.log")
    finally:
        models.database.initialize(previous)
    check = fleet.check
    assert fleet.proxied == check["expected"] == fleet_suite.QUICK_TOTAL
    assert check["upstream_calls"] == fleet.proxied, "each stream reached the upstream once"
    failed = {t["target"]: t["value"] for t in fleet_suite.database_targets(check) if not t["pass"]}
    assert failed == {}, check
