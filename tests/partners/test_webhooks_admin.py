"""The webhooks console: changelists without a query per row, actions that call services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careos.actors import system_actor
from partners.models import WebhookEndpoint, WebhookMessage
from partners.services.events import publish_event
from partners.services.webhooks import webhook_endpoint_create
from rbac.models import AuditEvent, User
from tests.partners.webhook_receiver import Reply

pytestmark = pytest.mark.django_db

ACTOR = system_actor("tests")


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(username="ops", password="pw-ops-123456")
    client.force_login(user)
    return client


def _endpoints(partner, receiver, n: int) -> list[WebhookEndpoint]:
    return [
        webhook_endpoint_create(partner=partner, url=receiver.url(f"/e{i}"), actor=ACTOR)
        for i in range(n)
    ]


def test_endpoint_changelist_shows_success_rate_without_query_per_row(
    admin_client, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    _endpoints(partner, receiver, 2)
    receiver.reply("/e0", Reply(status=500))
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(event_type="lead.created", owner=partner, payload={})
    url = reverse("admin:partners_webhookendpoint_changelist")
    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(url)
    assert response.status_code == 200
    assert "50.0% of 2" not in response.content.decode()  # per endpoint, not overall
    assert "0.0% of 1" in response.content.decode()
    assert "100.0% of 1" in response.content.decode()

    _endpoints(partner, receiver, 5)
    with CaptureQueriesContext(connection) as more:
        assert admin_client.get(url).status_code == 200
    assert len(more) == len(few)


def test_message_changelist_and_detail_with_attempts_inline(
    admin_client, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    _endpoints(partner, receiver, 1)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            publish_event(event_type="lead.created", owner=partner, payload={})
    url = reverse("admin:partners_webhookmessage_changelist")
    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(url, {"status": "delivered"})
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            publish_event(event_type="lead.created", owner=partner, payload={})
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url, {"status": "delivered"})
    assert len(more) == len(few)

    message = WebhookMessage.objects.first()
    detail = admin_client.get(reverse("admin:partners_webhookmessage_change", args=[message.pk]))
    assert detail.status_code == 200
    assert "Webhook attempts" in detail.content.decode()


def test_retry_action_resends_a_failed_message(
    admin_client, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    [endpoint] = _endpoints(partner, receiver, 1)
    receiver.fail("/e0", times=1)
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(event_type="lead.created", owner=partner, payload={})
    message = endpoint.messages.get()
    assert message.status == WebhookMessage.Status.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:partners_webhookmessage_changelist"),
            {"action": "retry_messages", "_selected_action": [message.pk]},
        )
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == WebhookMessage.Status.DELIVERED
    assert AuditEvent.objects.filter(action="webhook_message.retried").get().actor_ref


def test_disable_enable_and_recover_actions(
    admin_client, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    [endpoint] = _endpoints(partner, receiver, 1)
    receiver.fail("/e0", times=2)
    with django_capture_on_commit_callbacks(execute=True):
        publish_event(event_type="lead.created", owner=partner, payload={})
        publish_event(event_type="lead.created", owner=partner, payload={})
    changelist = reverse("admin:partners_webhookendpoint_changelist")

    admin_client.post(
        changelist, {"action": "disable_endpoints", "_selected_action": [endpoint.pk]}
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    admin_client.post(changelist, {"action": "enable_endpoints", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.enabled is True

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            changelist,
            {"action": "recover_failed", "_selected_action": [endpoint.pk], "since_hours": 1},
        )
    assert endpoint.messages.filter(status=WebhookMessage.Status.DELIVERED).count() == 2


def test_replay_action_sends_past_events_to_the_endpoint(
    admin_client, partner, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_event(event_type="lead.created", owner=partner, payload={})
    [endpoint] = _endpoints(partner, receiver, 1)  # registered after the event
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:partners_webhookendpoint_changelist"),
            {"action": "replay_events", "_selected_action": [endpoint.pk], "since_hours": 2},
        )
    assert response.status_code == 302
    [request] = receiver.on("/e0")
    assert request.headers["webhook-id"] == endpoint.messages.get(event=event).public_id
