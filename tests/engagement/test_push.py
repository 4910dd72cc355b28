import base64
import json

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from careos.actors import system_actor
from engagement.models import MessageStatus, PushSubscription
from engagement.services.messages import message_send
from engagement.services.push import SubscriptionInvalid, push_subscription_register

ENDPOINT = "https://push.example.net/wpush/v2/abc123"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def webpush_settings(settings):
    vapid = Vapid()
    vapid.generate_keys()
    der = vapid.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    settings.PUSH_BACKEND = "engagement.channels.push_webpush.WebPushTransport"
    settings.VAPID_PRIVATE_KEY = _b64(der)
    settings.VAPID_SUBJECT = "mailto:ops@careos.example"
    return settings


@pytest.fixture
def subscription(patient):
    key = ec.generate_private_key(ec.SECP256R1())
    p256dh = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return push_subscription_register(
        user=patient, endpoint=ENDPOINT, p256dh=_b64(p256dh), auth=_b64(b"0123456789abcdef")
    )


def _push(patient, key: str = "k"):
    return message_send(
        channel="push",
        recipient=patient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "Walk 20 minutes"},
        dedupe_key=key,
        actor=system_actor("tests"),
    )


@responses.activate
def test_push_is_encrypted_and_signed_with_vapid(
    webpush_settings, patient, subscription, django_capture_on_commit_callbacks
):
    responses.add(responses.POST, ENDPOINT, status=201, headers={"Location": ENDPOINT + "/m1"})
    with django_capture_on_commit_callbacks(execute=True):
        message = _push(patient)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider == "webpush"
    request = responses.calls[0].request
    assert request.headers["Content-Encoding"] == "aes128gcm"
    assert request.headers["Authorization"].startswith("vapid t=")
    assert b"Walk 20 minutes" not in request.body  # encrypted end to end


@responses.activate
def test_gone_subscription_is_deactivated_and_message_undeliverable(
    webpush_settings, patient, subscription, django_capture_on_commit_callbacks
):
    responses.add(responses.POST, ENDPOINT, status=410)
    with django_capture_on_commit_callbacks(execute=True):
        message = _push(patient)
    message.refresh_from_db()
    subscription.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERABLE
    assert subscription.is_active is False


@responses.activate
def test_push_service_5xx_is_transient(webpush_settings, patient, subscription):
    from engagement.services.messages import message_deliver

    responses.add(responses.POST, ENDPOINT, status=502)
    message = _push(patient)
    report = message_deliver(message_id=message.pk)
    assert report.retry_ids == [message.pk]
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


@pytest.mark.django_db
def test_console_push_records(patient, subscription, django_capture_on_commit_callbacks):
    from engagement.channels.push_console import ConsolePushTransport

    with django_capture_on_commit_callbacks(execute=True):
        message = _push(patient)
    (outbound,) = ConsolePushTransport.outbox
    assert outbound.message_ref == message.public_id
    assert json.loads(outbound.to)["endpoint"] == ENDPOINT
    assert outbound.body == "Reminder: Walk 20 minutes"


@pytest.mark.django_db
def test_bad_subscription_is_refused(patient):
    with pytest.raises(SubscriptionInvalid):
        push_subscription_register(user=patient, endpoint="http://x", p256dh="a", auth="b")
    assert not PushSubscription.objects.exists()
