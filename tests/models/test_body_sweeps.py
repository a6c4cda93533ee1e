"""On Postgres, writers and sweeps at once: no record loses a piece to a concurrent delete."""
import threading

import peewee
import pytest

import models
from bench.claude_session import session
from models.body_store import BodySegment
from models.retention import prune_batch
from tests.models.test_body_store import assert_read_back, call_rows

WRITERS = 3


@pytest.fixture
def postgres(postgres_url):
    previous = models.database.obj
    db = models.init_db(postgres_url, pool_size=WRITERS + 2)
    models.migrate()
    yield db
    db.close_all()
    models.database.initialize(previous)


def _write(logs, bodies, retried: list) -> None:
    while True:
        try:
            models.save_records(logs, bodies)
            return
        except peewee.OperationalError:  # a deadlock or lock timeout is retried, as the recorder does
            retried.append(1)
            models.database.close()


def test_writes_and_sweeps_interleaved_never_break_a_record(postgres):
    sessions = [session(24, seed=number) for number in range(WRITERS)]
    done, retried, swept, failures = threading.Event(), [], [], []

    def writer(number: int) -> None:
        try:
            for index, call in enumerate(sessions[number]):
                # A victim (old, swept at once) and a keeper (recent) of every call: the keeper's
                # newest pieces were first stored by the victim, which a sweep may be deleting.
                victim = call_rows(f"v{number}-{index}-", [call], timestamp_ms=1_000 + index)
                keeper = call_rows(f"k{number}-{index}-", [call])
                _write(*victim, retried)
                _write(*keeper, retried)
        except Exception as exc:
            failures.append(exc)
        finally:
            models.database.close()

    def sweeper() -> None:
        try:
            while not done.is_set():
                try:
                    swept.append(prune_batch(1_000_000, batch_size=3))
                except peewee.OperationalError:  # the pruner tries again later
                    retried.append(1)
                    models.database.close()
        except Exception as exc:
            failures.append(exc)
        finally:
            models.database.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    sweep = threading.Thread(target=sweeper)
    sweep.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    sweep.join(60)
    assert not failures, failures
    assert sum(swept) > 0, "the sweep ran while the writers wrote"
    while prune_batch(1_000_000, batch_size=50):
        pass
    for number, calls in enumerate(sessions):
        for index, call in enumerate(calls):
            assert_read_back(f"k{number}-{index}-", [call])
    assert models.RequestLog.select().count() == WRITERS * 24, "every victim went, every keeper stayed"
    assert prune_batch(2 ** 62, batch_size=10_000) == WRITERS * 24
    assert BodySegment.select().count() == 0, "the counts added up: nothing leaked, nothing went early"
