from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from careos.celery import app as celery_app
from careos.tasks import ping
from tests.infra import require_redis


@pytest.fixture
def redis_celery_app() -> Iterator[Celery]:
    """The project's Celery configuration on REDIS_URL, not eager, with a result backend.

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


def test_tasks_run_eagerly_in_tests_by_default():
    assert ping.delay().get() == "pong"
