"""Delivery against a real HTTP receiver on loopback: signing, retries, dead letters, 410,
Retry-After, throttle, secret rotation."""

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from careos.actors import system_actor
from partners.models import (
    PartnerContact,
    PlatformEvent,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from partners.services.events import publish_event
from partners.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_enable,
    webhook_endpoint_recover,
    webhook_endpoint_replay,
    webhook_endpoint_rotate_secret,
    webhook_message_retry,
)
from partners.tasks import webhooks_deliver, webhooks_sweep_task
from rbac.models import AuditEvent
from tests.partners.webhook_receiver import Reply

pytestmark = pytest.mark.django_db

ACTOR = system_actor("tests")


@pytest.fixture
def endpoint(partner, receiver, webhook_settings) -> WebhookEndpoint:
    return webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)


def publish(capture, partner, event_type="lead.created", **payload) -> PlatformEvent:
    with capture(execute=True):
        return publish_event(event_type=event_type, owner=partner, payload=payload or {"x": 1})


def sweep(capture) -> None:
    with capture(execute=True):
        webhooks_sweep_task.delay()


def test_delivery_is_signed_per_standard_webhooks(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    event = publish(django_capture_on_commit_callbacks, partner, lead_id="lead_1", status="new")

    [request] = receiver.on("/hook")
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "lead.created"
    assert payload["eventId"] == event.public_id
    assert payload["data"] == {"leadId": "lead_1", "status": "new"}
    message = WebhookMessage.objects.get(event=event, endpoint=endpoint)
    assert request.headers["webhook-id"] == message.public_id
    assert request.headers["content-type"] == "application/json"
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempt_count == 1
    attempt = message.attempts.get()
    assert (attempt.success, attempt.status_code, attempt.response_body) == (True, 200, "ok")
    # A wrong secret does not verify: the signature really is over this body.
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)


def test_fails_n_times_then_delivered_once_at_scheduled_delays(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0, 5, 300, 1800]
    receiver.fail("/hook", times=2)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        event = publish(django_capture_on_commit_callbacks, partner)
        message = WebhookMessage.objects.get(event=event)
        assert message.status == WebhookMessage.Status.PENDING
        assert message.next_attempt_at == start + timedelta(seconds=5)

        clock.shift(4)
        sweep(django_capture_on_commit_callbacks)  # not due yet
        assert len(receiver.on("/hook")) == 1
        clock.shift(1)
        sweep(django_capture_on_commit_callbacks)
        message.refresh_from_db()
        assert message.next_attempt_at == start + timedelta(seconds=305)
        clock.shift(300)
        sweep(django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempt_count == 3
    requests = receiver.on("/hook")
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {message.public_id}
    attempts = list(message.attempts.order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3]
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert [a.started_at - start for a in attempts] == [
        timedelta(0),
        timedelta(seconds=5),
        timedelta(seconds=305),
    ]
    # Each signature was made at the attempt's own time.
    assert [int(r.headers["webhook-timestamp"]) - int(start.timestamp()) for r in requests] == [
        0,
        5,
        305,
    ]


def test_dead_letter_after_last_attempt_notifies_other_endpoints(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    PartnerContact.objects.create(
        partner=partner, role="technical", name="Dev", email="dev@acme.test"
    )
    PartnerContact.objects.create(partner=partner, role="billing", name="AP", email="ap@acme.test")
    other = webhook_endpoint_create(
        partner=partner,
        url=receiver.url("/ops"),
        actor=ACTOR,
        event_types=["message.attempt.exhausted"],
    )
    receiver.fail("/hook", times=10)

    event = publish(django_capture_on_commit_callbacks, partner)

    message = WebhookMessage.objects.get(event=event, endpoint=endpoint)
    assert message.status == WebhookMessage.Status.FAILED
    assert message.attempt_count == 3
    assert message.failed_at is not None
    assert len(receiver.on("/hook")) == 3
    # The dead letter is announced to the partner's other endpoint, not to the failing one.
    [notice] = receiver.on("/ops")
    body = Webhook(other.secret).verify(notice.body, notice.headers)
    assert body["type"] == "message.attempt.exhausted"
    assert body["data"]["messageId"] == message.public_id
    assert body["data"]["endpointId"] == endpoint.public_id
    assert body["data"]["attempts"] == 3
    assert body["data"]["lastStatusCode"] == 500
    assert not WebhookMessage.objects.filter(
        endpoint=endpoint, event__event_type__name="message.attempt.exhausted"
    ).exists()
    endpoint.refresh_from_db()
    assert endpoint.enabled  # failing, but not for 5 days yet
    assert endpoint.failing_since is not None
    # ...and the partner's technical contact is emailed (primary contacts only as a fallback).
    [email] = mail.outbox
    assert email.to == ["dev@acme.test"]
    assert message.public_id in email.body


def test_gone_disables_endpoint_and_dead_letters_its_queue(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    receiver.reply("/hook", Reply(status=410, body=b"gone"))

    first = publish(django_capture_on_commit_callbacks, partner)
    second = publish(django_capture_on_commit_callbacks, partner)

    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "410" in endpoint.disabled_reason
    assert len(receiver.on("/hook")) == 1
    assert WebhookMessage.objects.get(event=first).status == WebhookMessage.Status.FAILED
    # Events published after the endpoint was disabled are not queued for it at all.
    assert not WebhookMessage.objects.filter(event=second).exists()
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.disabled", target_ref=endpoint.public_id
    ).exists()


def test_gone_dead_letters_every_pending_message_until_enabled_and_recovered(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    """What README's "Receiving webhooks" promises for 410: the endpoint is disabled, the
    messages still waiting for it are dead-lettered without another attempt, nothing new is
    queued for it, and enable + recover sends them all again under their own webhook-ids."""
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0, 300]
    PartnerContact.objects.create(
        partner=partner, role="technical", name="Dev", email="dev@acme.test"
    )
    ops = webhook_endpoint_create(
        partner=partner,
        url=receiver.url("/ops"),
        actor=ACTOR,
        event_types=["message.attempt.exhausted"],
    )
    receiver.reply("/hook", Reply(status=500), Reply(status=410, body=b"gone"))
    waiting = publish(django_capture_on_commit_callbacks, partner, n=1)  # 500: retry in 5 min
    gone = publish(django_capture_on_commit_callbacks, partner, n=2)  # 410
    while_disabled = publish(django_capture_on_commit_callbacks, partner, n=3)

    endpoint.refresh_from_db()
    assert endpoint.enabled is False and "410" in endpoint.disabled_reason
    assert len(receiver.on("/hook")) == 2
    by_event = {m.event_id: m for m in endpoint.messages.all()}
    assert set(by_event) == {waiting.pk, gone.pk}  # nothing queued once disabled
    assert by_event[gone.pk].status == WebhookMessage.Status.FAILED
    assert by_event[gone.pk].last_status_code == 410
    assert by_event[waiting.pk].status == WebhookMessage.Status.FAILED
    assert by_event[waiting.pk].last_error == "endpoint disabled"
    assert by_event[waiting.pk].attempts.count() == 1  # no attempt made for the dead letter
    # The answered message is announced as exhausted; the partner is emailed about both.
    [notice] = receiver.on("/ops")
    assert Webhook(ops.secret).verify(notice.body, notice.headers)["data"]["messageId"] == (
        by_event[gone.pk].public_id
    )
    subjects = sorted(email.subject for email in mail.outbox)
    assert any("was disabled" in subject for subject in subjects)
    assert any("could not be delivered" in subject for subject in subjects)

    webhook_endpoint_enable(endpoint=endpoint, actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        recovered = webhook_endpoint_recover(
            endpoint=endpoint, since=timezone.now() - timedelta(hours=1), actor=ACTOR
        )
    with django_capture_on_commit_callbacks(execute=True):
        webhook_endpoint_replay(
            endpoint=endpoint,
            since=timezone.now() - timedelta(hours=1),
            event_types=["lead.created"],
            actor=ACTOR,
        )
    assert recovered == 2
    assert endpoint.messages.filter(status=WebhookMessage.Status.DELIVERED).count() == 3
    resent = {r.headers["webhook-id"] for r in receiver.on("/hook")[2:]}
    assert resent == {m.public_id for m in endpoint.messages.all()}
    assert endpoint.messages.get(event=while_disabled).attempt_count == 1


def test_retry_after_is_honoured_on_429(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0, 5, 300]
    receiver.reply("/hook", Reply(status=429, headers={"Retry-After": "120"}))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        event = publish(django_capture_on_commit_callbacks, partner)
        message = WebhookMessage.objects.get(event=event)
        assert message.next_attempt_at == start + timedelta(seconds=120)
        assert message.last_status_code == 429
        clock.shift(60)
        sweep(django_capture_on_commit_callbacks)
        assert len(receiver.on("/hook")) == 1
        clock.shift(60)
        sweep(django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert len(receiver.on("/hook")) == 2


def test_per_endpoint_throttle_is_respected(
    partner, receiver, webhook_settings, django_capture_on_commit_callbacks, clock
):
    endpoint = webhook_endpoint_create(
        partner=partner, url=receiver.url("/slow"), actor=ACTOR, rate_limit_per_second=20
    )
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(8):
            publish_event(event_type="lead.updated", owner=partner, payload={"n": n})

    requests = receiver.on("/slow")
    assert len(requests) == 8
    # The clock moves only while the sender waits for its next slot, so the gaps the receiver
    # saw are exactly the throttle's: 20/s is one request every 50 ms, never sooner.
    gaps = [b.monotonic - a.monotonic for a, b in itertools.pairwise(requests)]
    assert gaps == pytest.approx([0.05] * 7)
    wall_gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert wall_gaps == pytest.approx([0.05] * 7, abs=1e-6)  # time.time() as a float: µs
    assert (
        WebhookMessage.objects.filter(
            endpoint=endpoint, status=WebhookMessage.Status.DELIVERED
        ).count()
        == 8
    )


def test_rotation_signs_with_both_secrets_during_grace(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    old_secret = endpoint.secret
    new_secret = webhook_endpoint_rotate_secret(
        endpoint=endpoint, actor=ACTOR, grace=timedelta(hours=1)
    )
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    endpoint.refresh_from_db()
    assert endpoint.secret == new_secret

    publish(django_capture_on_commit_callbacks, partner)
    [during] = receiver.on("/hook")
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(during.body, during.headers)
    Webhook(new_secret).verify(during.body, during.headers)

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        publish(django_capture_on_commit_callbacks, partner)
        after = receiver.on("/hook")[1]
        Webhook(new_secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(after.body, after.headers)


def test_secret_is_stored_encrypted(endpoint):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM partners_webhookendpoint WHERE id = %s", [endpoint.pk])
        [stored] = cursor.fetchone()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret not in stored


def test_endpoint_failing_for_five_days_is_disabled_and_partner_alerted(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0, 86400, 86400, 86400, 86400, 86400, 86400]
    PartnerContact.objects.create(
        partner=partner, role="primary", name="Ops", email="ops@acme.test"
    )
    receiver.fail("/hook", times=100)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        event = publish(django_capture_on_commit_callbacks, partner)
        for _ in range(5):
            clock.shift(86400)
            sweep(django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "5 days" in endpoint.disabled_reason
    assert [m.to for m in mail.outbox if "disabled" in m.subject] == [["ops@acme.test"]]
    message = WebhookMessage.objects.get(event=event)
    assert message.attempt_count == 6
    assert WebhookAttempt.objects.filter(message=message, success=False).count() == 6


def test_response_body_is_truncated(
    endpoint, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RESPONSE_BODY_LIMIT = 100
    receiver.reply("/hook", Reply(status=200, body=b"x" * 5000))
    event = publish(django_capture_on_commit_callbacks, partner)
    attempt = WebhookAttempt.objects.get(message__event=event)
    assert attempt.response_body == "x" * 100
    assert json.loads(receiver.on("/hook")[0].body)["type"] == "lead.created"
    assert mail.outbox == []


def test_task_options_make_a_killed_worker_retry():
    assert webhooks_deliver.acks_late is True
    assert webhooks_deliver.reject_on_worker_lost is True


def test_endpoint_leased_by_another_worker_is_not_sent_to(
    endpoint, partner, receiver, django_capture_on_commit_callbacks
):
    """The endpoint lease is the claim: while another worker holds it, nothing is sent."""
    held_until = timezone.now() + timedelta(seconds=60)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(delivery_lease_until=held_until)
    event = publish(django_capture_on_commit_callbacks, partner)
    assert webhooks_deliver.delay(endpoint_id=endpoint.pk).get() == 0
    assert receiver.requests == []
    message = WebhookMessage.objects.get(event=event)
    assert (message.status, message.attempt_count) == (WebhookMessage.Status.PENDING, 0)
    # Its holder's lease is left alone (only the holder releases it).
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).delivery_lease_until == held_until


@pytest.mark.django_db(transaction=True)
def test_retry_during_an_attempt_in_flight_sends_again_and_records_each_attempt_once(
    partner, receiver, webhook_settings, event_catalog
):
    """An operator's retry that lands while the attempt is in flight is not swallowed by it:
    the in-flight outcome is not recorded over the re-queued message, which is sent again."""
    in_flight = threading.Event()  # the receiver holds its answer until this is set
    receiver.reply("/hook", Reply(status=200, release=in_flight))
    endpoint = webhook_endpoint_create(partner=partner, url=receiver.url("/hook"), actor=ACTOR)

    def retry_while_in_flight() -> None:
        try:
            deadline = time.monotonic() + 30
            while not receiver.on("/hook"):
                assert time.monotonic() < deadline, "the first attempt never arrived"
                time.sleep(0.01)
            message = WebhookMessage.objects.get(endpoint=endpoint)
            webhook_message_retry(message=message, actor=ACTOR)
        finally:
            in_flight.set()
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        retried = pool.submit(retry_while_in_flight)
        publish_event(event_type="lead.created", owner=partner, payload={"x": 1})
        retried.result(timeout=60)

    message = WebhookMessage.objects.get(endpoint=endpoint)
    requests = receiver.on("/hook")
    assert [r.headers["webhook-id"] for r in requests] == [message.public_id] * 2
    assert message.status == WebhookMessage.Status.DELIVERED
    assert message.attempt_count == 1  # the attempt overtaken by the retry was not recorded
    [attempt] = message.attempts.all()
    assert (attempt.number, attempt.success, attempt.trigger) == (
        1,
        True,
        WebhookAttempt.Trigger.SCHEDULED,
    )
