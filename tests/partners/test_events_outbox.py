"""Publishing: the outbox row in the caller's transaction, fan-out after commit, the sweep that
catches what a broker outage or a killed worker left behind, retention, the catalog."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from careos.actors import system_actor
from partners.models import EventType, PlatformEvent, WebhookEndpoint, WebhookMessage
from partners.services.events import UnknownEventTypeError, publish_event
from partners.services.webhooks import webhook_endpoint_create
from partners.tasks import events_prune_task, webhooks_sweep_task
from tests.infra import unreachable_redis_cache, worker_task_names

pytestmark = pytest.mark.django_db

ACTOR = system_actor("tests")

ISSUE_EVENT_TYPES = {
    "lead.created",
    "lead.updated",
    "lead.qualified",
    "lead.assigned",
    "lead.converted",
    "consent.confirmed",
    "consent.revoked",
    "ticket.created",
    "ticket.updated",
    "ticket.escalated",
    "ticket.sla_breached",
    "ticket.resolved",
    "payment.succeeded",
    "payment.failed",
    "payment.refunded",
    "payout.paid",
    "invoice.generated",
    "connection.created",
    "connection.disconnected",
    "connection.failed",
    "execution.succeeded",
    "execution.failed",
    "partner.application.approved",
    "billing.usage_updated",
    "message.attempt.exhausted",
}


def test_catalog_is_seeded_with_the_standard_events():
    names = set(EventType.objects.values_list("name", flat=True))
    assert names >= ISSUE_EVENT_TYPES
    example = EventType.objects.get(name="execution.failed")
    assert example.payload_example["error"]["code"] == "channel_not_found"
    assert example.schema_version == 1
    assert example.deprecated is False


def test_beat_schedules_are_seeded_for_registered_tasks():
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks["partners.webhooks_sweep"] == 10
    assert tasks["partners.events_prune"] == 3600
    assert {"partners.webhooks_sweep", "partners.events_prune"} <= worker_task_names()


def test_publish_writes_outbox_row_and_fans_out_after_commit(
    partner, other_partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    all_types = webhook_endpoint_create(partner=partner, url=receiver.url("/all"), actor=ACTOR)
    leads_only = webhook_endpoint_create(
        partner=partner, url=receiver.url("/leads"), actor=ACTOR, event_types=["lead.created"]
    )
    foreign = webhook_endpoint_create(
        partner=other_partner, url=receiver.url("/other"), actor=ACTOR
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = publish_event(event_type="ticket.created", owner=partner, payload={"t": 1})
        assert event.public_id.startswith("evt_")
        assert event.fanned_out_at is None
        assert not WebhookMessage.objects.exists()  # nothing announced before commit
    assert len(callbacks) == 1
    callbacks[0]()

    event.refresh_from_db()
    assert event.fanned_out_at is not None
    assert list(WebhookMessage.objects.values_list("endpoint_id", flat=True)) == [all_types.pk]
    assert len(receiver.on("/all")) == 1
    assert receiver.on("/leads") == [] and receiver.on("/other") == []
    assert leads_only.messages.count() == 0 and foreign.messages.count() == 0


def test_rolled_back_transaction_publishes_nothing(
    partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        publish_event(event_type="lead.created", owner=partner, payload={})
        raise RuntimeError("the caller's change failed")
    assert not PlatformEvent.objects.exists()
    assert receiver.requests == []


def test_unknown_event_type_is_refused(partner):
    with pytest.raises(UnknownEventTypeError) as caught:
        publish_event(event_type="lead.exploded", owner=partner, payload={})
    assert caught.value.code == "unknown_event_type"
    assert not PlatformEvent.objects.exists()


def test_idempotency_key_returns_the_first_event(partner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = publish_event(
            event_type="lead.created", owner=partner, payload={"a": 1}, idempotency_key="k1"
        )
        again = publish_event(
            event_type="lead.created", owner=partner, payload={"a": 2}, idempotency_key="k1"
        )
    assert again.pk == first.pk
    assert PlatformEvent.objects.count() == 1


def test_platform_only_event_is_recorded_and_sent_nowhere(
    partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="payout.paid", owner=None, payload={"amount": 5})
    assert event.fanned_out_at is not None
    assert not WebhookMessage.objects.exists()
    assert receiver.requests == []


def test_event_published_while_broker_is_down_is_delivered_when_it_returns(
    partner, receiver, webhook_settings, django_capture_on_commit_callbacks, broker
):
    webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    broker.down()
    with django_capture_on_commit_callbacks(execute=True):
        # The caller's transaction commits; queueing the fan-out fails and is only logged.
        event = publish_event(event_type="lead.created", owner=partner, payload={"n": 1})
    event.refresh_from_db()
    assert event.fanned_out_at is None
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_sweep_task.apply()  # beat still fires; queueing still fails
    assert receiver.requests == []

    broker.up()
    with django_capture_on_commit_callbacks(execute=True):
        report = webhooks_sweep_task.delay().get()

    assert report["unfannedEvents"] == 1
    event.refresh_from_db()
    assert event.fanned_out_at is not None
    [request] = receiver.on("/hook")
    message = WebhookMessage.objects.get(event=event)
    assert request.headers["webhook-id"] == message.public_id
    assert message.status == WebhookMessage.Status.DELIVERED


@pytest.mark.parametrize("cache_down", [False, True], ids=["broker-down", "all-redis-down"])
def test_publishing_while_the_broker_is_down_does_not_hang_the_caller(
    partner,
    receiver,
    webhook_settings,
    django_capture_on_commit_callbacks,
    broker,
    caplog,
    cache_down,
):
    webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    broker.down()
    # REDIS_URL serves the cache too: a Redis outage takes both away.
    caches = unreachable_redis_cache() if cache_down else django_settings.CACHES
    started = time.monotonic()
    with override_settings(CACHES=caches), django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={"n": 1})
    elapsed = time.monotonic() - started

    assert elapsed < 5, f"publishing waited {elapsed:.1f}s on the unreachable broker"
    assert PlatformEvent.objects.filter(pk=event.pk, fanned_out_at__isnull=True).exists()
    assert "could not be queued" in caplog.text


def test_message_of_a_killed_worker_is_retried_not_lost(
    partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    endpoint = webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)
    event = publish_event(event_type="lead.created", owner=partner, payload={})
    now = timezone.now()
    # What a worker killed mid-send leaves: the endpoint's lease running, the message still
    # pending (nothing is written before a batch's outcomes), no attempt.
    message = WebhookMessage.objects.create(event=event, endpoint=endpoint, next_attempt_at=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        delivery_lease_until=now + timedelta(seconds=60)
    )
    PlatformEvent.objects.filter(pk=event.pk).update(fanned_out_at=now)

    with django_capture_on_commit_callbacks(execute=True):
        webhooks_sweep_task.delay()
    assert receiver.requests == []  # the lease still runs: the worker may be alive
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.PENDING
    assert message.attempt_count == 0

    with (
        time_machine.travel(now + timedelta(seconds=61), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = webhooks_sweep_task.delay().get()
    assert report["leasesExpired"] == 1
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempt_count == 1
    [request] = receiver.on("/hook")
    assert request.headers["webhook-id"] == message.public_id
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).delivery_lease_until is None


def test_prune_deletes_events_past_retention(partner, webhook_settings):
    webhook_settings.EVENT_RETENTION_DAYS = 30
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        old = publish_event(event_type="lead.created", owner=partner, payload={})
    recent = publish_event(event_type="lead.created", owner=partner, payload={})

    assert events_prune_task.delay().get() == 1
    assert list(PlatformEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not PlatformEvent.objects.filter(pk=old.pk).exists()


def test_one_fan_out_is_queued_per_transaction(partner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for n in range(3):
            publish_event(event_type="lead.created", owner=partner, payload={"n": n})
    assert len(callbacks) == 1

    # A savepoint rolled back takes its callback along; the next publish queues one again.
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_event(event_type="lead.created", owner=partner, payload={"n": 3})
            raise RuntimeError("inner change failed")
        publish_event(event_type="lead.created", owner=partner, payload={"n": 4})
    assert len(callbacks) == 1
    assert PlatformEvent.objects.count() == 4
