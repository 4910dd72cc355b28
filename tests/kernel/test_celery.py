from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from careos.celery import app as celery_app
from careos.tasks import ping
from tests.infra import require_redis


@pytest.fixture
def redis_celery_app() -> Iterator[Celery]:
    """The project's Celery app, pointed at REDIS_URL and not eager, restored afterwards."""
    url = require_redis()
    conf = celery_app.conf
    saved = {
        "broker_url": conf.broker_url,
        "result_backend": conf.result_backend,
        "task_always_eager": conf.task_always_eager,
        "broker_transport_options": conf.broker_transport_options,
    }
    conf.update(
        broker_url=url,
        result_backend=url,
        task_always_eager=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    try:
        yield celery_app
    finally:
        conf.update(saved)
        celery_app.pool.force_close_all()


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
        result = ping.apply_async(ignore_result=False)
        assert result.get(timeout=10) == "pong"
        assert result.successful()
        assert worker.hostname
