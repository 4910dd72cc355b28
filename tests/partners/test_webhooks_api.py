"""The events and webhooks API: scopes, tenant isolation, CRUD, test, rotate, retry, recover,
replay, message/attempt/event lists with filters."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from partners.models import PlatformEvent, WebhookEndpoint, WebhookMessage
from partners.services.events import publish_event
from rbac.models import AuditEvent
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

READ = "read:webhooks"
MANAGE = "manage:webhooks"


@pytest.fixture
def client_(partner_api_client, webhook_settings):
    return partner_api_client(scopes=[READ, MANAGE])


def _create(client, receiver, path="/hook", **extra):
    response = client.post(
        "/api/v1/webhooks/endpoints", {"url": receiver.url(path), **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_event_types_are_listed_with_the_planned_ones_marked(client_):
    response = client_.get("/api/v1/event-types")
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()}
    assert {"lead.created", "message.attempt.exhausted", "billing.usage_updated"} <= set(by_name)
    assert set(by_name["lead.created"]) == {
        "name",
        "description",
        "payloadExample",
        "schemaVersion",
        "deprecated",
        "planned",
    }
    assert by_name["lead.created"]["planned"] is False
    assert by_name["consent.revoked"]["planned"] is False
    assert by_name["connection.created"]["planned"] is True
    assert by_name["billing.usage_updated"]["planned"] is True


def test_planned_event_types_cannot_be_subscribed_to_or_replayed(client_, receiver):
    created = client_.post(
        "/api/v1/webhooks/endpoints",
        {"url": receiver.url(), "eventTypes": ["lead.created", "execution.failed"]},
        format="json",
    )
    assert created.status_code == 400
    assert created["Content-Type"] == "application/problem+json"
    assert created.json()["code"] == "event_type_planned"
    assert created.json()["errors"] == [
        {"field": "eventTypes", "code": "event_type_planned", "message": "execution.failed"}
    ]
    assert not WebhookEndpoint.objects.exists()

    endpoint = _create(client_, receiver, eventTypes=["lead.created"])
    updated = client_.patch(
        f"/api/v1/webhooks/endpoints/{endpoint['id']}",
        {"eventTypes": ["connection.created"]},
        format="json",
    )
    assert updated.status_code == 400 and updated.json()["code"] == "event_type_planned"
    assert WebhookEndpoint.objects.get(public_id=endpoint["id"]).event_types == ["lead.created"]
    replayed = client_.post(
        f"/api/v1/webhooks/endpoints/{endpoint['id']}/replay",
        {
            "since": (timezone.now() - timedelta(hours=1)).isoformat(),
            "eventTypes": ["connection.failed"],
        },
        format="json",
    )
    assert replayed.status_code == 400 and replayed.json()["code"] == "event_type_planned"


def test_create_shows_secret_once_and_get_never(client_, receiver):
    body = _create(
        client_, receiver, eventTypes=["lead.created"], description="CRM", rateLimitPerSecond=10
    )
    assert body["id"].startswith("whep_")
    assert body["secret"].startswith("whsec_")
    assert body["eventTypes"] == ["lead.created"]
    assert body["rateLimitPerSecond"] == 10
    endpoint = WebhookEndpoint.objects.get(public_id=body["id"])
    assert endpoint.partner == client_.partner
    assert endpoint.secret == body["secret"]

    again = client_.get(f"/api/v1/webhooks/endpoints/{body['id']}")
    assert again.status_code == 200
    assert "secret" not in again.json()
    listed = client_.get("/api/v1/webhooks/endpoints").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert "secret" not in listed["results"][0]


def test_create_validation_errors(client_, receiver, webhook_settings):
    response = client_.post(
        "/api/v1/webhooks/endpoints",
        {"url": "not a url", "rateLimitPerSecond": 0},
        format="json",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"url", "rateLimitPerSecond"}

    unknown = client_.post(
        "/api/v1/webhooks/endpoints",
        {"url": receiver.url(), "eventTypes": ["lead.nope"]},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_event_type"

    webhook_settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    private = client_.post(
        "/api/v1/webhooks/endpoints", {"url": "http://10.1.2.3/hook"}, format="json"
    )
    assert private.status_code == 400
    assert private.json()["code"] == "invalid_webhook_url"
    assert private.json()["errors"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "host",
    [
        "a" * 64 + ".example.com",  # the URL field refuses a label over 63 characters
        "\u00fc" * 60 + ".example.com",  # the URL field accepts it; IDNA cannot encode it
    ],
)
def test_host_name_that_is_not_a_dns_name_is_a_problem_not_a_500(client_, receiver, host):
    created = client_.post(
        "/api/v1/webhooks/endpoints", {"url": f"https://{host}/hook"}, format="json"
    )
    assert created.status_code == 400
    assert created["Content-Type"] == "application/problem+json"
    assert created.json()["errors"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()

    existing = _create(client_, receiver)
    updated = client_.patch(
        f"/api/v1/webhooks/endpoints/{existing['id']}", {"url": f"https://{host}/hook"}
    )
    assert updated.status_code == 400
    assert updated["Content-Type"] == "application/problem+json"
    assert WebhookEndpoint.objects.get(public_id=existing["id"]).url == receiver.url("/hook")


def test_scopes_are_enforced(partner_api_client, receiver, webhook_settings):
    reader = partner_api_client(scopes=[READ])
    assert reader.get("/api/v1/webhooks/endpoints").status_code == 200
    refused = reader.post("/api/v1/webhooks/endpoints", {"url": receiver.url()}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    nobody = partner_api_client(scopes=["read:leads"])
    for url in ("/api/v1/webhooks/endpoints", "/api/v1/webhooks/messages", "/api/v1/event-types"):
        assert nobody.get(url).status_code == 403
    anonymous = partner_api_client(scopes=[READ])
    anonymous.credentials()
    assert anonymous.get("/api/v1/webhooks/endpoints").status_code == 401


def test_tenant_isolation(
    client_, partner_api_client, receiver, django_capture_on_commit_callbacks
):
    mine = _create(client_, receiver, "/mine")
    other = partner_api_client(scopes=[READ, MANAGE])
    theirs = _create(other, receiver, "/theirs")
    with django_capture_on_commit_callbacks(execute=True):
        their_event = publish_event(event_type="lead.created", owner=other.partner, payload={})
    their_message = WebhookMessage.objects.get(event=their_event)

    listed = client_.get("/api/v1/webhooks/endpoints").json()["results"]
    assert [item["id"] for item in listed] == [mine["id"]]
    assert client_.get("/api/v1/webhooks/messages").json()["results"] == []
    assert client_.get("/api/v1/webhooks/events").json()["results"] == []
    theirs_urls = [
        ("get", f"/api/v1/webhooks/endpoints/{theirs['id']}"),
        ("patch", f"/api/v1/webhooks/endpoints/{theirs['id']}"),
        ("delete", f"/api/v1/webhooks/endpoints/{theirs['id']}"),
        ("post", f"/api/v1/webhooks/endpoints/{theirs['id']}/test"),
        ("post", f"/api/v1/webhooks/endpoints/{theirs['id']}/rotate-secret"),
        ("get", f"/api/v1/webhooks/messages/{their_message.public_id}"),
        ("get", f"/api/v1/webhooks/messages/{their_message.public_id}/attempts"),
        ("post", f"/api/v1/webhooks/messages/{their_message.public_id}/retry"),
        ("get", f"/api/v1/webhooks/events/{their_event.public_id}"),
    ]
    for method, url in theirs_urls:
        response = getattr(client_, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "not_found"
    assert WebhookEndpoint.objects.filter(public_id=theirs["id"], enabled=True).exists()


def test_update_disable_enable_and_delete(client_, receiver):
    created = _create(client_, receiver)
    url = f"/api/v1/webhooks/endpoints/{created['id']}"
    patched = client_.patch(
        url, {"description": "new", "eventTypes": ["ticket.created"], "enabled": False}
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "new"
    assert patched.json()["eventTypes"] == ["ticket.created"]
    assert patched.json()["enabled"] is False
    assert patched.json()["disabledReason"]
    assert client_.patch(url, {"enabled": True}).json()["enabled"] is True

    assert client_.delete(url).status_code == 204
    assert not WebhookEndpoint.objects.filter(public_id=created["id"]).exists()
    assert AuditEvent.objects.filter(
        action="webhook_endpoint.deleted", target_ref=created["id"], partner_ref__startswith="ptr_"
    ).exists()


def test_test_event_and_rotation(client_, receiver, django_capture_on_commit_callbacks):
    created = _create(client_, receiver)
    base = f"/api/v1/webhooks/endpoints/{created['id']}"
    with django_capture_on_commit_callbacks(execute=True):
        sent = client_.post(f"{base}/test")
    assert sent.status_code == 202
    assert sent.json()["eventType"] == "webhook.test"
    [request] = receiver.on("/hook")
    Webhook(created["secret"]).verify(request.body, request.headers)

    rotated = client_.post(f"{base}/rotate-secret", {"graceHours": 2}, format="json")
    assert rotated.status_code == 201
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    with django_capture_on_commit_callbacks(execute=True):
        client_.post(f"{base}/test")
    latest = receiver.on("/hook")[-1]
    Webhook(created["secret"]).verify(latest.body, latest.headers)
    Webhook(new_secret).verify(latest.body, latest.headers)


def test_messages_attempts_filters_and_retry(
    client_, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    created = _create(client_, receiver)
    receiver.fail("/hook", times=1)
    with django_capture_on_commit_callbacks(execute=True):
        failed_event = publish_event(
            event_type="lead.created", owner=client_.partner, payload={"n": 1}
        )
        publish_event(event_type="ticket.created", owner=client_.partner, payload={"n": 2})

    failed = client_.get("/api/v1/webhooks/messages", {"status": "failed"}).json()["results"]
    assert [m["eventId"] for m in failed] == [failed_event.public_id]
    assert failed[0]["endpointId"] == created["id"]
    by_type = client_.get("/api/v1/webhooks/messages", {"eventType": "ticket.created"}).json()
    assert [m["status"] for m in by_type["results"]] == ["delivered"]
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert client_.get("/api/v1/webhooks/messages", {"since": future}).json()["results"] == []
    bad = client_.get("/api/v1/webhooks/messages", {"status": "exploded"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"

    message_id = failed[0]["id"]
    attempts = client_.get(f"/api/v1/webhooks/messages/{message_id}/attempts").json()
    assert [(a["number"], a["statusCode"], a["success"]) for a in attempts["results"]] == [
        (1, 500, False)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        retried = client_.post(f"/api/v1/webhooks/messages/{message_id}/retry")
    assert retried.status_code == 202
    detail = client_.get(f"/api/v1/webhooks/messages/{message_id}").json()
    assert detail["status"] == "delivered" and detail["attemptCount"] == 2


def test_recover_and_replay(
    client_, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    webhook_settings.WEBHOOK_RETRY_SCHEDULE = [0]
    created = _create(client_, receiver)
    receiver.fail("/hook", times=2)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            publish_event(event_type="lead.created", owner=client_.partner, payload={"n": n})
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    base = f"/api/v1/webhooks/endpoints/{created['id']}"

    with django_capture_on_commit_callbacks(execute=True):
        recovered = client_.post(f"{base}/recover", {"since": since}, format="json")
    assert recovered.status_code == 202 and recovered.json() == {"queued": 2}
    assert len(receiver.on("/hook")) == 4

    later = _create(client_, receiver, "/later")
    with django_capture_on_commit_callbacks(execute=True):
        replayed = client_.post(
            f"/api/v1/webhooks/endpoints/{later['id']}/replay",
            {"since": since, "eventTypes": ["lead.created"]},
            format="json",
        )
    assert replayed.json() == {"queued": 2}
    assert len(receiver.on("/later")) == 2
    missing = client_.post(f"{base}/replay", {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "since"


def test_events_list_and_detail(client_):
    event = publish_event(event_type="payment.failed", owner=client_.partner, payload={"a": 1})
    publish_event(event_type="lead.created", owner=client_.partner, payload={})
    publish_event(event_type="lead.created", owner=PartnerFactory(), payload={})
    listed = client_.get("/api/v1/webhooks/events", {"eventType": "payment.failed"}).json()
    assert [e["id"] for e in listed["results"]] == [event.public_id]
    detail = client_.get(f"/api/v1/webhooks/events/{event.public_id}").json()
    assert detail == {
        "id": event.public_id,
        "type": "payment.failed",
        "occurredAt": detail["occurredAt"],
        "createdAt": detail["createdAt"],
        "payload": {"a": 1},
    }
    assert PlatformEvent.objects.count() == 3
