import threading
from urllib.parse import parse_qs

import pytest
import responses
from celery.exceptions import Retry
from django.db import connection

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Message, MessageAttempt, MessageStatus
from engagement.services.messages import NoAddressError, message_deliver, message_send
from engagement.services.templates import TemplateError
from engagement.tasks import deliver_message
from rbac.models import AuditEvent
from tests.engagement.conftest import PUBLIC_BASE, TWILIO_FROM, TWILIO_MESSAGES_URL

ACTOR = system_actor("tests")


def _welcome(recipient, **extra):
    kwargs = {
        "channel": "sms",
        "recipient": recipient,
        "purpose": "welcome_from_referral",
        "template_key": "welcome_from_referral",
        "context": {"first_name": "Ana", "partner_name": "BusinessOS"},
        "dedupe_key": "lead_abc",
        "actor": ACTOR,
    }
    kwargs.update(extra)
    return message_send(**kwargs)


def _twilio_ok(sid: str = "SM" + "1" * 32) -> None:
    responses.add(
        responses.POST,
        TWILIO_MESSAGES_URL,
        json={"sid": sid, "status": "queued", "to": "+1", "body": ""},
        status=201,
    )


@responses.activate
def test_sent_sms_carries_body_sender_and_status_callback(
    twilio, patient, django_capture_on_commit_callbacks
):
    _twilio_ok()
    with django_capture_on_commit_callbacks(execute=True):
        message = _welcome(patient)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider == "twilio"
    assert message.provider_message_id == "SM" + "1" * 32
    assert message.public_id.startswith("msg_")
    form = parse_qs(responses.calls[0].request.body)
    assert form["To"] == [patient.phone]
    assert form["From"] == [TWILIO_FROM]
    assert form["Body"] == [
        "Welcome to CareOS, Ana! BusinessOS connected you with us to help you find care. "
        "We will text you shortly. Reply STOP to opt out."
    ]
    assert form["StatusCallback"] == [f"{PUBLIC_BASE}/api/v1/engagement/twilio/status"]
    attempt = MessageAttempt.objects.get(message=message)
    assert (attempt.number, attempt.outcome) == (1, "sent")
    assert AuditEvent.objects.filter(
        action="engagement.message.created", target_ref=message.public_id
    ).exists()


@responses.activate
def test_messaging_service_sid_replaces_from(twilio, patient, django_capture_on_commit_callbacks):
    twilio.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    _twilio_ok()
    with django_capture_on_commit_callbacks(execute=True):
        _welcome(patient)
    form = parse_qs(responses.calls[0].request.body)
    assert form["MessagingServiceSid"] == ["MG" + "2" * 32]
    assert "From" not in form


@responses.activate
def test_5xx_is_retried_then_sent(twilio, patient):
    responses.add(responses.POST, TWILIO_MESSAGES_URL, json={"message": "oops"}, status=503)
    _twilio_ok()
    message = _welcome(patient)

    with pytest.raises(Retry) as retry:
        deliver_message.delay(message_id=message.pk)
    assert retry.value.when == 30  # ENGAGEMENT_RETRY_BASE_SECONDS, doubled per attempt
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert "503" in message.last_error

    deliver_message.delay(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert list(message.attempt_rows.order_by("number").values_list("outcome", flat=True)) == [
        "transient",
        "sent",
    ]
    assert len(responses.calls) == 2


@responses.activate
def test_5xx_until_max_attempts_fails(twilio, patient):
    twilio.ENGAGEMENT_MAX_ATTEMPTS = 3
    responses.add(responses.POST, TWILIO_MESSAGES_URL, json={"message": "down"}, status=500)
    message = _welcome(patient)
    countdowns = []
    for _ in range(2):
        with pytest.raises(Retry) as retry:
            deliver_message.delay(message_id=message.pk)
        countdowns.append(retry.value.when)
    deliver_message.delay(message_id=message.pk)
    assert countdowns == [30, 60]
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 3
    assert len(responses.calls) == 3


@responses.activate
def test_4xx_is_permanent_with_reason(twilio, patient, django_capture_on_commit_callbacks):
    responses.add(
        responses.POST,
        TWILIO_MESSAGES_URL,
        json={"code": 21211, "message": "The 'To' number is not valid.", "status": 400},
        status=400,
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = _welcome(patient)
    message.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERABLE
    assert "21211" in message.last_error
    assert message.attempts == 1
    assert len(responses.calls) == 1


@pytest.mark.django_db
def test_idempotent_resend_returns_first_message(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _welcome(patient)
        second = _welcome(patient)
    assert first.pk == second.pk
    assert Message.objects.count() == 1
    assert len(ConsoleSMSTransport.outbox) == 1
    assert ConsoleSMSTransport.outbox[0].message_ref == first.public_id


@pytest.mark.django_db
def test_same_key_other_purpose_is_a_new_message(patient):
    _welcome(patient)
    other = _welcome(patient, purpose="reminder")
    assert Message.objects.count() == 2
    assert other.purpose == "reminder"


@pytest.mark.django_db
def test_address_recipient_and_recipient_encrypted(db):
    message = _welcome("+15550199999", language="fr")
    assert message.recipient is None
    assert message.language == "fr"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_address, body FROM engagement_message WHERE id = %s", [message.pk]
        )
        raw_address, raw_body = cursor.fetchone()
    assert "+15550199999" not in raw_address
    assert "CareOS" not in raw_body
    assert Message.objects.get(pk=message.pk).to_address == "+15550199999"


@pytest.mark.django_db
def test_undeclared_context_is_refused(patient):
    with pytest.raises(TemplateError):
        _welcome(patient, context={"first_name": "Ana", "ssn": "123"})
    with pytest.raises(TemplateError):
        _welcome(patient, context={"first_name": object(), "partner_name": "x"})
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_no_phone_is_refused(make_patient):
    with pytest.raises(NoAddressError):
        _welcome(make_patient(phone=""))


@pytest.mark.django_db
def test_delivery_claim_is_single(patient):
    message = _welcome(patient)
    first = message_deliver(message_id=message.pk)
    second = message_deliver(message_id=message.pk)
    assert (first.sent, second.sent) == (1, 0)
    assert len(ConsoleSMSTransport.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sends_make_one_message(patient):
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(_welcome(patient).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert Message.objects.count() == 1
