import logging
import time
from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from kombu import Connection
from kombu.exceptions import OperationalError

from careos.broker import FilesystemTransport
from careos.celery import app as celery_app
from careos.tasks import ping
from tests.infra import closed_local_port, require_redis, worker_task_names


@pytest.fixture
def redis_celery_app(key_namespace: str) -> Iterator[Celery]:
    """The project's Celery configuration on REDIS_URL, not eager, with a result backend, and
    a queue of the test's own (no other test run's worker takes its tasks, nor it theirs).

    A separate app instance, so the eager project app other tests use keeps its state; the
    worker makes its app the current one, so the project app is made current again after.
    """
    url = require_redis()
    app = Celery("careos", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=url,
        result_backend=url,
        task_always_eager=False,
        task_default_queue=f"{key_namespace}:celery",
        broker_transport_options={"visibility_timeout": 3600},
    )
    try:
        yield app
    finally:
        app.close()
        celery_app.set_current()
        celery_app.set_default()


def test_project_celery_settings():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert "careos.tasks.ping" in celery_app.tasks
    assert "careos.tasks.prune_idempotency_records" in celery_app.tasks


@pytest.mark.worker
def test_a_real_task_runs_on_a_real_worker_over_redis(redis_celery_app):
    with start_worker(
        redis_celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        task = redis_celery_app.tasks[ping.name]
        assert task.app is redis_celery_app
        result = task.apply_async(ignore_result=False)
        assert result.get(timeout=10) == "pong"
        assert result.successful()
        assert worker.hostname
        result.forget()


@pytest.mark.django_db
def test_every_beat_schedule_names_a_task_the_worker_knows():
    from django_celery_beat.models import PeriodicTask

    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert len(scheduled) > 5  # the schedules the data migrations seed
    assert scheduled <= worker_task_names()


def test_tasks_run_eagerly_in_tests_by_default():
    assert ping.delay().get() == "pong"


@pytest.fixture
def unreachable_broker() -> Iterator[None]:
    """The project app, not eager, sending to a closed local port with its own settings."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = f"redis://127.0.0.1:{closed_local_port()}/0"
    celery_app._pool = celery_app.amqp._producer_pool = None  # drop connections to the old URL
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = saved
        celery_app._pool = celery_app.amqp._producer_pool = None


@pytest.mark.parametrize("send", ["delay", "apply_async_without_retry"])
def test_sending_to_an_unreachable_broker_fails_instead_of_hanging(unreachable_broker, send):
    # Callers queue after commit, inside requests: they must get the error (and log it) soon.
    started = time.monotonic()
    with pytest.raises(OperationalError):
        ping.delay() if send == "delay" else ping.apply_async(retry=False)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"sending waited {elapsed:.1f}s on the unreachable broker"


def test_the_filesystem_broker_makes_its_folders_and_names_no_host(tmp_path, caplog):
    """The embedded default: folders under VAR_DIR are created when the broker is first used
    (not when the settings are imported), and no "No hostname was supplied" warning."""
    broker_dir = tmp_path / "var" / "broker"
    options = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "store_processed": True,
        "control_folder": str(broker_dir / "control"),
    }
    caplog.set_level(logging.WARNING, logger="kombu")
    with Connection("filesystem://", transport_options=options) as connection:
        assert isinstance(connection.transport, FilesystemTransport)
        with connection.SimpleQueue("careos_test") as queue:
            queue.put({"ping": 1})
            message = queue.get(timeout=2)
            assert message.payload == {"ping": 1}
            message.ack()
    assert sorted(p.name for p in broker_dir.iterdir()) == ["control", "processed", "queue"]
    assert (broker_dir / "control" / "careos_test.exchange").exists()
    assert not [r for r in caplog.records if "hostname" in r.getMessage()]
