from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import time_machine
from django.core import mail
from twilio.request_validator import RequestValidator

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Message, MessageStatus, OptOut
from engagement.services.messages import message_send, messages_release_deferred
from engagement.services.optouts import unsubscribe_token
from tests.engagement.conftest import PUBLIC_BASE, TWILIO_TOKEN

ACTOR = system_actor("tests")
STATUS_URL = "/api/v1/engagement/twilio/status"
INBOUND_URL = "/api/v1/engagement/twilio/inbound"


def _send(recipient, *, key: str, channel: str = "sms", urgent: bool = False) -> Message:
    return message_send(
        channel=channel,
        recipient=recipient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "Take your medication"},
        dedupe_key=key,
        urgent=urgent,
        actor=ACTOR,
    )


def _signed_post(client, path: str, data: dict[str, str], *, token: str = TWILIO_TOKEN):
    signature = RequestValidator(token).compute_signature(f"{PUBLIC_BASE}{path}", data)
    return client.post(
        path,
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


@pytest.mark.django_db
def test_inbound_stop_suppresses_next_message(twilio, client, patient):
    response = _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": " stop "})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    optout = OptOut.objects.get(channel="sms")
    assert optout.user == patient
    assert optout.keyword == "STOP"

    message = _send(patient, key="after-stop")
    assert message.status == MessageStatus.SUPPRESSED
    assert len(ConsoleSMSTransport.outbox) == 0
    # Email is another channel: not affected by an SMS STOP.
    assert _send(patient, key="email", channel="email").status == MessageStatus.QUEUED


@pytest.mark.parametrize("word", ["BAJA", "Alto", "parar", "ARRÊT", "arret", "désabonner"])
@pytest.mark.django_db
def test_spanish_and_french_stop_words(twilio, client, patient, word):
    assert (
        _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": word}).status_code == 200
    )
    assert OptOut.objects.filter(channel="sms", user=patient).exists()


@pytest.mark.parametrize("word", ["START", "unstop", "ALTA", "Reprendre"])
@pytest.mark.django_db
def test_start_words_lift_the_opt_out(twilio, client, patient, word):
    _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": "STOP"})
    _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": word})
    assert not OptOut.objects.exists()
    assert _send(patient, key="k").status == MessageStatus.QUEUED


@pytest.mark.django_db
def test_other_inbound_text_changes_nothing(twilio, client, patient):
    response = _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": "hello stop"})
    assert response.status_code == 200
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_opt_out_arriving_after_queueing_still_suppresses(twilio, client, patient):
    from engagement.services.messages import message_deliver

    message = _send(patient, key="queued-first")
    _signed_post(client, INBOUND_URL, {"From": patient.phone, "Body": "STOP"})
    message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED
    assert len(ConsoleSMSTransport.outbox) == 0


@pytest.mark.django_db
def test_inbound_with_bad_signature_is_refused(twilio, client, patient):
    response = _signed_post(
        client, INBOUND_URL, {"From": patient.phone, "Body": "STOP"}, token="wrong"
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_status_callback_bad_signature_is_refused(twilio, client, patient):
    message = _send(patient, key="k")
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, provider_message_id="SMabc"
    )
    data = {"MessageSid": "SMabc", "MessageStatus": "delivered"}
    response = _signed_post(client, STATUS_URL, data, token="not-the-token")
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    missing = client.post(
        STATUS_URL, urlencode(data), content_type="application/x-www-form-urlencoded"
    )
    assert missing.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_status_callback_marks_delivered_and_ignores_regressions(twilio, client, patient):
    message = _send(patient, key="k")
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, provider_message_id="SMabc"
    )
    ok = _signed_post(client, STATUS_URL, {"MessageSid": "SMabc", "MessageStatus": "delivered"})
    assert ok.status_code == 204
    late = _signed_post(client, STATUS_URL, {"MessageSid": "SMabc", "MessageStatus": "sent"})
    assert late.status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None


@pytest.mark.django_db
def test_status_callback_undelivered(twilio, client, patient):
    message = _send(patient, key="k")
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, provider_message_id="SMxyz"
    )
    _signed_post(
        client,
        STATUS_URL,
        {"MessageSid": "SMxyz", "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERABLE
    assert "30003" in message.last_error


@pytest.mark.django_db
def test_quiet_hours_defer_until_morning_in_recipient_timezone(settings, make_patient):
    settings.ENGAGEMENT_QUIET_HOURS_START = "21:00"
    settings.ENGAGEMENT_QUIET_HOURS_END = "08:00"
    patient = make_patient(timezone="America/New_York")
    # 02:30 UTC is 21:30 in New York (EST): inside quiet hours.
    with time_machine.travel(datetime(2026, 1, 15, 2, 30, tzinfo=UTC), tick=False):
        message = _send(patient, key="night")
        urgent = _send(patient, key="urgent", urgent=True)
    assert message.status == MessageStatus.DEFERRED
    assert message.send_after == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert urgent.status == MessageStatus.QUEUED

    with time_machine.travel(datetime(2026, 1, 15, 12, 59, tzinfo=UTC), tick=False):
        assert messages_release_deferred() == 0
    with time_machine.travel(datetime(2026, 1, 15, 13, 1, tzinfo=UTC), tick=False):
        assert messages_release_deferred() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert [o.message_ref for o in ConsoleSMSTransport.outbox] == [message.public_id]


@pytest.mark.django_db
def test_daytime_in_recipient_timezone_is_not_deferred(settings, make_patient):
    settings.ENGAGEMENT_QUIET_HOURS_START = "21:00"
    settings.ENGAGEMENT_QUIET_HOURS_END = "08:00"
    patient = make_patient(timezone="Asia/Tokyo")
    # 02:30 UTC is 11:30 in Tokyo.
    with time_machine.travel(datetime(2026, 1, 15, 2, 30, tzinfo=UTC), tick=False):
        assert _send(patient, key="day").status == MessageStatus.QUEUED


@pytest.mark.django_db
def test_email_has_text_html_and_unsubscribe_link(
    client, patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(patient, key="mail", channel="email")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    (email,) = mail.outbox
    assert email.to == [patient.email]
    assert email.subject == "Reminder: Take your medication"
    token = unsubscribe_token(channel="email", address=patient.email)
    link = f"{PUBLIC_BASE}/api/v1/engagement/unsubscribe/{token}"
    assert link in email.body
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"

    page = client.get(f"/api/v1/engagement/unsubscribe/{token}")
    assert page.status_code == 200
    assert not OptOut.objects.exists()  # a GET (link scanner) changes nothing
    done = client.post(f"/api/v1/engagement/unsubscribe/{token}")
    assert done.status_code == 200
    assert OptOut.objects.get().channel == "email"
    assert _send(patient, key="mail-2", channel="email").status == MessageStatus.SUPPRESSED


@pytest.mark.django_db
def test_forged_unsubscribe_token_is_refused(client, patient):
    response = client.post("/api/v1/engagement/unsubscribe/not-a-token")
    assert response.status_code == 400
    assert not OptOut.objects.exists()


@pytest.mark.django_db
def test_webhooks_refuse_other_content_types(twilio, client):
    response = client.post(INBOUND_URL, "{}", content_type="application/json")
    assert response.status_code == 415
    response = client.generic("POST", STATUS_URL, b"", content_type="multipart/form-data")
    assert response.status_code == 415
