"""Endpoint management, test sends, retry, recover, replay, and the SSRF guard."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

import careos
from careos.actors import system_actor
from careos.errors import ConflictError
from careos.ids import derived_public_id
from partners.models import WebhookAttempt, WebhookMessage
from partners.services.events import publish_event
from partners.services.webhooks import (
    InvalidEventTypesError,
    InvalidWebhookURLError,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_recover,
    webhook_endpoint_replay,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_message_retry,
)
from rbac.models import AuditEvent

pytestmark = pytest.mark.django_db

ACTOR = system_actor("tests")


@pytest.fixture
def endpoint(partner, receiver, webhook_settings):
    return webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)


def test_create_validates_event_types_and_audits(partner, receiver, webhook_settings):
    with pytest.raises(InvalidEventTypesError) as caught:
        webhook_endpoint_create(
            partner=partner, url=receiver.url(), actor=ACTOR, event_types=["lead.nope"]
        )
    assert caught.value.extra["errors"][0]["field"] == "eventTypes"

    endpoint = webhook_endpoint_create(
        partner=partner,
        url=receiver.url(),
        actor=ACTOR,
        event_types=["lead.created", "lead.created", "ticket.created"],
        description="CRM sync",
    )
    assert endpoint.public_id.startswith("whep_")
    assert endpoint.event_types == ["lead.created", "ticket.created"]
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.created", target_ref=endpoint.public_id
    ).exists()


def test_ssrf_guard_refuses_private_urls_outside_tests(partner, webhook_settings):
    webhook_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.5/hook", "http://169.254.169.254/"):
        with pytest.raises(InvalidWebhookURLError) as caught:
            webhook_endpoint_create(partner=partner, url=url, actor=ACTOR)
        assert caught.value.extra["errors"][0]["field"] == "url"
    webhook_settings.OUTBOUND_HTTP_REQUIRE_HTTPS = True
    with pytest.raises(InvalidWebhookURLError, match="https"):
        webhook_endpoint_create(partner=partner, url="http://example.com/hook", actor=ACTOR)


def test_delivery_to_an_address_that_became_private_is_refused_and_retried(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={})
    message = WebhookMessage.objects.get(event=event)
    attempt = message.attempts.get()
    assert attempt.success is False and attempt.status_code is None
    assert "loopback" in attempt.error
    assert message.status == WebhookMessage.Status.PENDING
    assert receiver.requests == []


def test_update_revalidates_url(endpoint, webhook_settings):
    webhook_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    with pytest.raises(InvalidWebhookURLError):
        webhook_endpoint_update(endpoint=endpoint, actor=ACTOR, url="http://192.168.1.4/")
    updated = webhook_endpoint_update(
        endpoint=endpoint, actor=ACTOR, event_types=["payment.failed"], rate_limit_per_second=5
    )
    assert updated.event_types == ["payment.failed"] and updated.rate_limit_per_second == 5


def test_send_test_event_reaches_only_that_endpoint(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(partner=partner, url=receiver.url("/other"), actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        message = webhook_endpoint_send_test(endpoint=endpoint, actor=ACTOR)
    [request] = receiver.on("/hook")
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == "webhook.test"
    assert body["data"]["endpointId"] == endpoint.public_id
    assert receiver.on("/other") == []
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED


def test_retry_resends_a_dead_letter_with_the_same_webhook_id(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    receiver.fail("/hook", times=1)
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={})
    message = WebhookMessage.objects.get(event=event)
    assert message.status == WebhookMessage.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        webhook_message_retry(message=message, actor=ACTOR)

    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempt_count == 2
    first, second = receiver.on("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message.public_id
    assert list(message.attempts.values_list("number", "trigger")) == [
        (1, WebhookAttempt.Trigger.SCHEDULED),
        (2, WebhookAttempt.Trigger.MANUAL),
    ]


def test_recover_resends_failed_messages_since_a_time(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    receiver.fail("/hook", times=3)
    with django_capture_on_commit_callbacks(execute=True):
        events = [
            publish_event(event_type="lead.created", owner=partner, payload={"n": n})
            for n in range(3)
        ]
    assert endpoint.messages.filter(status=WebhookMessage.Status.FAILED).count() == 3
    old = endpoint.messages.get(event=events[0])
    WebhookMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        count = webhook_endpoint_recover(
            endpoint=endpoint, since=timezone.now() - timedelta(days=1), actor=ACTOR
        )

    assert count == 2
    statuses = dict(endpoint.messages.values_list("event_id", "status"))
    assert statuses == {
        events[0].pk: WebhookMessage.Status.FAILED,
        events[1].pk: WebhookMessage.Status.DELIVERED,
        events[2].pk: WebhookMessage.Status.DELIVERED,
    }
    assert len(receiver.on("/hook")) == 5


def test_retry_recover_and_replay_of_an_event_carry_one_webhook_id(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    """A receiver deduplicating on ``webhook-id`` sees one id per (event, endpoint), however
    often the event is sent again, and can tell our deliveries by their User-Agent."""
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]  # one attempt, then the dead-letter list
    receiver.fail("/hook", times=3)
    second = webhook_endpoint_create(
        partner=partner, url=receiver.url("/second"), actor=ACTOR, event_types=["lead.created"]
    )
    since = timezone.now() - timedelta(hours=1)
    leads_only = {"since": since, "event_types": ["lead.created"], "actor": ACTOR}
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={"n": 1})
    message = WebhookMessage.objects.get(event=event, endpoint=endpoint)
    assert message.status == WebhookMessage.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        webhook_message_retry(message=message, actor=ACTOR)  # fails again
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_endpoint_recover(endpoint=endpoint, since=since, actor=ACTOR) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_endpoint_replay(endpoint=endpoint, **leads_only) == 1
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    # Replaying a delivered event, even one whose message is written anew, keeps the id.
    WebhookMessage.objects.filter(pk=message.pk).delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_endpoint_replay(endpoint=endpoint, **leads_only) == 1

    requests = receiver.on("/hook")
    assert [r.headers["webhook-id"] for r in requests] == [message.public_id] * 5
    assert message.public_id == derived_public_id("msg", event.public_id, endpoint.public_id)
    for request in requests:
        assert Webhook(endpoint.secret).verify(request.body, request.headers)["eventId"] == (
            event.public_id
        )
        assert request.headers["user-agent"] == f"CareOS-Webhooks/{careos.__version__}"
    # Another endpoint is another receiver: its message of the same event has its own id.
    [elsewhere] = receiver.on("/second")
    assert elsewhere.headers["webhook-id"] == second.messages.get(event=event).public_id
    assert elsewhere.headers["webhook-id"] != message.public_id


def test_replay_sends_past_events_to_a_new_endpoint(
    partner, other_partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lead = publish_event(event_type="lead.created", owner=partner, payload={"n": 1})
        publish_event(event_type="ticket.created", owner=partner, payload={"n": 2})
        publish_event(event_type="lead.created", owner=other_partner, payload={"n": 3})
    endpoint = webhook_endpoint_create(partner=partner, url=receiver.url("/new"), actor=ACTOR)

    with django_capture_on_commit_callbacks(execute=True):
        count = webhook_endpoint_replay(
            endpoint=endpoint,
            since=timezone.now() - timedelta(hours=1),
            event_types=["lead.created"],
            actor=ACTOR,
        )

    assert count == 1
    [request] = receiver.on("/new")
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["eventId"] == lead.public_id  # only this partner's, only that type
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.replayed", target_ref=endpoint.public_id
    ).exists()


def test_disabled_endpoint_gets_nothing_until_enabled_and_recovered(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    webhook_endpoint_disable(endpoint=endpoint, actor=ACTOR, reason="maintenance")
    with pytest.raises(ConflictError):
        webhook_endpoint_recover(endpoint=endpoint, since=timezone.now(), actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={})
    assert receiver.requests == []
    webhook_endpoint_enable(endpoint=endpoint, actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_replay(
            endpoint=endpoint, since=timezone.now() - timedelta(minutes=5), actor=ACTOR
        )
    [request] = receiver.on("/hook")
    assert WebhookMessage.objects.get(event=event).public_id == request.headers["webhook-id"]
