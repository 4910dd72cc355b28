"""Web push endpoints are the browser's URLs: never let them reach inside our network."""

import socket

import pytest
import responses

from careos.actors import system_actor
from careos.http import UnsafeURLError
from engagement.models import MessageAttempt, MessageStatus, PushSubscription
from engagement.services.messages import message_deliver, message_send
from engagement.services.push import SubscriptionInvalid, push_subscription_register
from tests.clients import SignedInAPIClient
from tests.engagement.test_api import AUTH, P256DH
from tests.engagement.test_push import ENDPOINT, subscription, webpush_settings  # noqa: F401

KEYS = {"p256dh": P256DH, "auth": AUTH}


def _register(patient, endpoint: str):
    client = SignedInAPIClient()
    client.force_login(patient)
    return client.post(
        "/api/v1/me/push-subscriptions", {"endpoint": endpoint, "keys": KEYS}, format="json"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("https://127.0.0.1/push", "loopback"),
        ("https://[::1]/push", "loopback"),
        ("https://push.evil.example/v2/abc", "private"),
        ("https://metadata.evil.example/latest", "cloud metadata"),
        ("https://push.nowhere.invalid/abc", "cannot be resolved"),
    ],
)
def test_private_endpoint_is_refused_at_registration(settings, patient, endpoint, reason):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    response = _register(patient, endpoint)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "push_subscription_invalid"
    assert reason in response.json()["detail"]
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_unencodable_host_is_invalid_not_a_crash(patient):
    with pytest.raises(SubscriptionInvalid, match="host name is not a valid DNS name"):
        push_subscription_register(
            user=patient,
            endpoint="https://" + "x" * 70 + ".example/push",
            p256dh=P256DH,
            auth=AUTH,
        )
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_public_endpoint_is_accepted_and_private_allowed_by_setting(settings, patient):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    assert _register(patient, "https://push.example.net/v2/abc").status_code == 201
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    assert _register(patient, "https://127.0.0.1/push").status_code == 201
    assert PushSubscription.objects.filter(user=patient).count() == 2


def _push(patient):
    return message_send(
        channel="push",
        recipient=patient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "Walk"},
        dedupe_key="p1",
        actor=system_actor("tests"),
    )


@responses.activate
def test_endpoint_that_now_resolves_private_is_never_called(
    webpush_settings,  # noqa: F811
    subscription,  # noqa: F811
    patient,
    fake_dns,
    django_capture_on_commit_callbacks,
):
    webpush_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    fake_dns["push.example.net"] = "10.1.2.3"  # DNS changed after registration
    responses.add(responses.POST, ENDPOINT, status=201)
    with django_capture_on_commit_callbacks(execute=True):
        message = _push(patient)
    message.refresh_from_db()
    subscription.refresh_from_db()
    assert len(responses.calls) == 0
    assert message.status == MessageStatus.UNDELIVERABLE
    assert "push endpoint refused" in message.last_error
    assert "private" in message.last_error
    assert subscription.is_active is False


@responses.activate
def test_redirect_from_the_push_service_is_not_followed(
    webpush_settings,  # noqa: F811
    subscription,  # noqa: F811
    patient,
    django_capture_on_commit_callbacks,
):
    webpush_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    responses.add(
        responses.POST,
        ENDPOINT,
        status=307,
        headers={"Location": "http://169.254.169.254/latest/meta-data/"},
    )
    responses.add(responses.POST, "http://169.254.169.254/latest/meta-data/", status=201)
    with django_capture_on_commit_callbacks(execute=True):
        message = _push(patient)
    message.refresh_from_db()
    assert [call.request.url for call in responses.calls] == [ENDPOINT]
    assert message.status == MessageStatus.FAILED
    assert message.last_error == "push service 307"
    assert MessageAttempt.objects.get(message=message).outcome == MessageAttempt.Outcome.PERMANENT


@responses.activate
def test_dns_failure_at_send_is_transient(
    webpush_settings,  # noqa: F811
    subscription,  # noqa: F811
    patient,
    fake_dns,
):
    webpush_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    del fake_dns["push.example.net"]  # the sandbox has no DNS: the lookup fails
    message = _push(patient)
    report = message_deliver(message_id=message.pk)
    assert report.retry_ids == [message.pk]
    message.refresh_from_db()
    subscription.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert "cannot be resolved" in message.last_error
    assert subscription.is_active is True
    assert len(responses.calls) == 0


def test_rebinding_host_is_refused_at_connect(settings, monkeypatch):
    """The name answers a public address to the check and loopback to the connect."""
    from engagement.channels.push_webpush import PushSession

    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    answers = iter(["93.184.216.34", "127.0.0.1"])
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with PushSession() as session, pytest.raises(UnsafeURLError, match="loopback"):
        session.post("https://rebind.example/push", data=b"x", timeout=2)
    assert lookups == ["rebind.example", "rebind.example"]


@pytest.mark.django_db
def test_pinned_connection_reaches_the_checked_address(settings, fake_dns):
    """With private targets allowed, a real request goes through the pinned connection."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from engagement.channels.push_webpush import PushSession

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Host"])  # before answering: the client may check at once
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    seen: list[str] = []
    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake_dns["push.local.example"] = "127.0.0.1"
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    try:
        with PushSession() as session:
            url = f"http://push.local.example:{server.server_port}/push"
            response = session.post(url, data=b"x", timeout=2)
        assert response.status_code == 201
        assert seen == [f"push.local.example:{server.server_port}"]
        settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
        with PushSession() as session, pytest.raises(UnsafeURLError, match="loopback"):
            session.post(url, data=b"x", timeout=2)
    finally:
        server.shutdown()
        server.server_close()
