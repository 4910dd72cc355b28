"""A real Celery worker killed (SIGKILL) while a delivery is in flight: the message is sent
again by the next worker, with the same webhook-id, and nothing is lost."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from careos.actors import system_actor
from careos.celery import app as celery_app
from partners.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from partners.services.events import publish_event
from partners.services.webhook_delivery import webhooks_sweep
from partners.services.webhooks import webhook_endpoint_create
from tests.infra import require_postgresql, require_redis
from tests.partners.webhook_receiver import Receiver, Reply

ACTOR = system_actor("tests")
ROOT = Path(__file__).resolve().parents[2]
# The worker's delivery lease: budget + HTTP timeout + margin (seconds).
WORKER_SETTINGS = {
    "WEBHOOK_TASK_BUDGET_SECONDS": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "4",
    "WEBHOOK_LEASE_MARGIN_SECONDS": "0.5",
}


def _wait_for(
    condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


@pytest.fixture
def start_worker(
    webhook_settings, key_namespace
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:  # type: ignore[no-untyped-def]
    """Start real ``celery worker`` processes on Redis against the test database; the test
    process queues to the same broker (not eagerly) while the fixture is active, on a queue
    of the test's own, and the workers share the test's cache and rate-limit key prefixes."""
    redis_url = require_redis()
    require_postgresql()
    queue = f"{key_namespace}:celery"
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        **WORKER_SETTINGS,
        "DATABASE_URL": database_url,
        # A worker changes no schema: the app role only (the owner's URL names another database).
        "MIGRATION_DATABASE_URL": "",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CACHE_KEY_PREFIX": key_namespace,
        "PARTNER_RATE_LIMIT_KEY_PREFIX": f"{key_namespace}:",
        "OUTBOUND_HTTP_ALLOW_PRIVATE": "true",
        "OUTBOUND_HTTP_REQUIRE_HTTPS": "false",
        "DJANGO_SETTINGS_MODULE": "careos.settings",
    }
    workers: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "careos", "worker", "--pool=solo"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["--loglevel=WARNING", "-n", f"killed-test-{len(workers)}@%h"]
        worker = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        workers.append(worker)
        return worker

    saved = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, queue
    try:
        yield start
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=10)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_delivery_is_retried_with_the_same_webhook_id(
    partner, receiver: Receiver, start_worker, event_catalog
):
    started = time.monotonic()
    # The first request is held open far longer than the test: the worker dies during it.
    receiver.reply("/hook", Reply(status=204, delay=60))
    endpoint = webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    first = start_worker()
    events = [
        publish_event(event_type="lead.created", owner=partner, payload={"n": n}) for n in range(3)
    ]

    _wait_for(lambda: receiver.on("/hook"), timeout=15, what="the first delivery to arrive")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=5)
    assert first.returncode == -signal.SIGKILL

    # The killed worker wrote nothing about its batch: every message is still due, none has
    # an attempt, and its endpoint lease still runs (it might be alive, as far as we know).
    messages = list(WebhookMessage.objects.filter(endpoint=endpoint).order_by("pk"))
    assert {m.event_id for m in messages} == {e.pk for e in events}
    assert all(m.status == WebhookMessage.Status.PENDING for m in messages)
    assert not WebhookAttempt.objects.filter(message__endpoint=endpoint).exists()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).delivery_lease_until is not None
    held_id = receiver.on("/hook")[0].headers["webhook-id"]

    start_worker()
    # The beat sweep, run until the lease expires and the endpoint is queued for the new worker.
    sweeps = []

    def delivered() -> bool:
        sweeps.append(webhooks_sweep())
        return (
            WebhookMessage.objects.filter(
                endpoint=endpoint, status=WebhookMessage.Status.DELIVERED
            ).count()
            == 3
        )

    _wait_for(delivered, timeout=20, what="the new worker to deliver every message", every=0.25)
    assert sum(s.leases_expired for s in sweeps) == 1

    received = [r.headers["webhook-id"] for r in receiver.on("/hook")]
    public_ids = {m.public_id for m in messages}
    assert set(received) == public_ids  # nothing lost
    assert received.count(held_id) == 2  # the interrupted one again, same webhook-id
    assert len(received) == 4
    for message in WebhookMessage.objects.filter(endpoint=endpoint):
        assert message.attempt_count == 1
        [attempt] = message.attempts.all()
        assert (attempt.success, attempt.status_code) == (True, 200)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).delivery_lease_until is None
    assert time.monotonic() - started < 30
