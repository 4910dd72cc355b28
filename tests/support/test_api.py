"""The ticket API: requesters (patients by session, partners by key) and agents."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from rbac.models import AuditEvent, User
from support.models import Ticket, TicketComment
from tests.clients import SignedInAPIClient
from tests.support.conftest import queue

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/support/tickets"


def client_for(user: User) -> APIClient:
    client = SignedInAPIClient()
    client.force_login(user)
    return client


@pytest.fixture
def patient_client(patient) -> APIClient:
    return client_for(patient)


def create(client: APIClient, clinic, **body) -> dict:
    payload = {"clinicId": clinic.public_id, "subject": "Billing", "description": "Charged twice"}
    payload.update(body)
    response = client.post(TICKETS, payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_patient_creates_and_lists_own_tickets(
    frozen, patient_client, patient, clinic, make_user
) -> None:
    body = create(patient_client, clinic, language="es")
    assert body["id"].startswith("tkt_")
    assert body["status"] == "new"
    assert body["queueId"] == queue(clinic, "Spanish").public_id
    assert body["region"] == "NY"  # the patient's region by default
    sla = body["sla"]
    assert sla["firstResponse"]["dueAt"] == "2026-03-02T16:00:00Z"
    assert sla["firstResponse"]["remainingBusinessMinutes"] == 60.0
    assert sla["resolution"]["breached"] is False
    ticket = Ticket.objects.get(public_id=body["id"])
    assert ticket.requester == patient
    assert ticket.comments.get().body == "Charged twice"

    other = client_for(make_user(User.Kind.PATIENT))
    create(other, clinic)
    listed = patient_client.get(TICKETS).json()
    assert [t["id"] for t in listed["results"]] == [body["id"]]
    # Another patient's ticket is 404.
    assert other.get(f"{TICKETS}/{body['id']}").status_code == 404


def test_create_is_idempotent(frozen, patient_client, clinic) -> None:
    payload = {"clinicId": clinic.public_id, "subject": "Help"}
    first = patient_client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = patient_client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Ticket.objects.count() == 1


def test_a_reused_key_with_another_body_is_422_like_every_endpoint(
    frozen, patient_client, clinic
) -> None:
    payload = {"clinicId": clinic.public_id, "subject": "Help"}
    first = patient_client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    other = {**payload, "subject": "Something else"}
    reused = patient_client.post(TICKETS, other, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422
    assert reused["Content-Type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("key", ["", "has space", "caf\u00e9", "k" * 256])
def test_an_idempotency_key_outside_the_api_wide_rules_is_refused(
    frozen, patient_client, clinic, key: str
) -> None:
    payload = {"clinicId": clinic.public_id, "subject": "Help"}
    response = patient_client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not Ticket.objects.exists()


def test_idempotency_keys_are_compared_whole(frozen, patient_client, clinic) -> None:
    """Keys were cut to 100 characters: two that shared those were one ticket."""
    payload = {"clinicId": clinic.public_id, "subject": "Help"}
    for key in ("k" * 200 + "a", "k" * 200 + "b"):
        response = patient_client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201
    assert Ticket.objects.count() == 2


def test_bad_input_is_a_problem_listing_fields(frozen, patient_client, clinic) -> None:
    response = patient_client.post(
        TICKETS, {"clinicId": clinic.public_id, "priority": "asap"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"subject", "priority"}
    unknown = patient_client.post(TICKETS, {"clinicId": "cln_nope", "subject": "x"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "clinic_not_found"


def test_anonymous_is_401(frozen) -> None:
    for url in (TICKETS, f"{TICKETS}/queue", f"{TICKETS}/tkt_x/status"):
        response = (
            SignedInAPIClient().get(url) if "status" not in url else APIClient().post(url, {})
        )
        assert response.status_code == 401, url
        assert response["Content-Type"] == "application/problem+json"


def test_agent_queue_view_reply_note_status_priority(
    frozen, patient_client, clinic, other_clinic, make_agent, make_user
) -> None:
    agent = make_agent(clinic)
    mine = create(patient_client, clinic)
    outsider_patient = client_for(make_user(User.Kind.PATIENT))
    theirs = create(outsider_patient, other_clinic)
    agent_client = client_for(agent)

    listed = agent_client.get(f"{TICKETS}/queue").json()["results"]
    assert [t["id"] for t in listed] == [mine["id"]]
    assert agent_client.get(f"{TICKETS}/queue", {"sla": "breached"}).json()["results"] == []
    assert len(agent_client.get(f"{TICKETS}/queue", {"assignee": "me"}).json()["results"]) == 1
    bad_filter = agent_client.get(f"{TICKETS}/queue", {"status": "AAA"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["errors"][0]["field"] == "status"

    # Another clinic's ticket is 404 for every agent action.
    for suffix, body in [
        ("", None),
        ("/comments", {"body": "hi"}),
        ("/status", {"status": "open"}),
        ("/priority", {"priority": "high"}),
        ("/assign", {"assigneeId": agent.public_id}),
        ("/escalate", {"reason": "x"}),
    ]:
        url = f"{TICKETS}/{theirs['id']}{suffix}"
        response = agent_client.post(url, body, format="json") if body else agent_client.get(url)
        assert response.status_code == 404, (suffix, response.content)

    url = f"{TICKETS}/{mine['id']}"
    assert agent_client.get(url).status_code == 200
    assert AuditEvent.objects.filter(action="phi.viewed", target_ref=mine["id"]).exists()
    note = agent_client.post(f"{url}/comments", {"body": "VIP", "internal": True}, format="json")
    assert note.status_code == 201 and note.json()["kind"] == "internal"
    reply = agent_client.post(f"{url}/comments", {"body": "On it"}, format="json")
    assert reply.status_code == 201 and reply.json()["isAgent"] is True
    detail = agent_client.get(url).json()
    assert detail["status"] == "open"
    assert detail["sla"]["firstResponse"]["met"] is True

    # The requester never sees the internal note.
    seen = patient_client.get(f"{url}/comments").json()
    assert [c["body"] for c in seen] == ["Charged twice", "On it"]
    assert (
        patient_client.post(
            f"{url}/comments", {"body": "x", "internal": True}, format="json"
        ).json()["code"]
        == "internal_note_forbidden"
    )

    pending = agent_client.post(f"{url}/status", {"status": "pending"}, format="json")
    assert pending.json()["status"] == "pending" and pending.json()["sla"]["paused"] is True
    bad = agent_client.post(f"{url}/status", {"status": "new"}, format="json")
    assert bad.status_code == 409 and bad.json()["code"] == "invalid_status_transition"
    high = agent_client.post(f"{url}/priority", {"priority": "urgent"}, format="json")
    assert high.json()["priority"] == "urgent"
    # Requesters cannot use the agent endpoints.
    assert (
        patient_client.post(f"{url}/status", {"status": "solved"}, format="json").status_code == 403
    )


def test_agent_assigns_within_own_clinic_only(
    frozen, patient_client, clinic, other_clinic, make_agent
) -> None:
    agent = make_agent(clinic, hours=())
    colleague = make_agent(clinic, hours=())
    stranger = make_agent(other_clinic)
    ticket = create(patient_client, clinic)
    url = f"{TICKETS}/{ticket['id']}/assign"
    client = client_for(agent)
    ok = client.post(
        url,
        {"assigneeId": colleague.public_id, "queueId": queue(clinic, "Spanish").public_id},
        format="json",
    )
    assert ok.status_code == 200
    assert ok.json()["assigneeId"] == colleague.public_id
    assert ok.json()["status"] == "open"
    refused = client.post(url, {"assigneeId": stranger.public_id}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_assignee"
    other_queue = client.post(
        url,
        {"assigneeId": None, "queueId": queue(other_clinic, "General").public_id},
        format="json",
    )
    assert other_queue.json()["code"] == "invalid_queue"


def test_requester_and_agent_escalation(frozen, patient_client, clinic, make_agent) -> None:
    agent = make_agent(clinic)
    supervisor = make_agent(clinic, supervisor=True, hours=())
    ticket = create(patient_client, clinic)
    url = f"{TICKETS}/{ticket['id']}/escalate"

    human = patient_client.post(url, {"reason": "I want to talk to a human"}, format="json")
    assert human.status_code == 200
    body = human.json()
    assert body["escalationLevel"] == 1
    assert body["queueId"] == queue(clinic, "Escalations").public_id
    assert body["assigneeId"] == supervisor.public_id
    assert body["priority"] == "normal"  # only automatic escalation raises priority
    event = AuditEvent.objects.get(action="ticket.escalated", target_ref=ticket["id"])
    assert event.metadata["kind"] == "requester"
    assert event.reason == "I want to talk to a human"

    by_agent = client_for(agent).post(url, {"reason": "Refund above my limit"}, format="json")
    assert by_agent.json()["escalationLevel"] == 2
    kinds = list(
        AuditEvent.objects.filter(action="ticket.escalated")
        .order_by("occurred_at", "pk")
        .values_list("metadata__kind", flat=True)
    )
    assert kinds == ["requester", "agent"]
    missing = patient_client.post(url, {}, format="json")
    assert missing.status_code == 400


def test_partner_tickets_use_scopes_and_tier_policy(
    frozen, partner_api_client, clinic, partner
) -> None:
    from support.models import SlaPolicy, SlaTarget

    default = SlaPolicy.objects.get(clinic=clinic)
    pro = SlaPolicy.objects.create(
        clinic=clinic, name="Pro partners", partner_tier="pro", calendar=default.calendar
    )
    SlaTarget.objects.create(
        policy=pro, priority="normal", first_response_minutes=20, resolution_minutes=60
    )
    partner.tier = "pro"
    partner.save()
    writer = partner_api_client(partner=partner, scopes=["read:support", "write:support"])
    reader = partner_api_client(partner=partner, scopes=["read:support"])

    created = writer.post(
        TICKETS, {"clinicId": clinic.public_id, "subject": "Webhook failing"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["requesterKind"] == "partner"
    assert body["requesterId"] == partner.public_id
    assert body["sla"]["policyId"] == pro.public_id
    assert body["sla"]["firstResponse"]["dueAt"] == "2026-03-02T15:20:00Z"

    assert [t["id"] for t in reader.get(TICKETS).json()["results"]] == [body["id"]]
    denied = reader.post(TICKETS, {"clinicId": clinic.public_id, "subject": "x"}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
    comment = writer.post(f"{TICKETS}/{body['id']}/comments", {"body": "Any news?"}, format="json")
    assert comment.status_code == 201
    assert TicketComment.objects.get(public_id=comment.json()["id"]).author_partner == partner
    other = partner_api_client(scopes=["read:support"])
    assert other.get(f"{TICKETS}/{body['id']}").status_code == 404


def test_queue_list_counts_open_tickets(frozen, patient_client, clinic, make_agent) -> None:
    create(patient_client, clinic, language="es")
    agent = make_agent(clinic)
    queues = client_for(agent).get(reverse("support-queues")).json()
    counts = {q["name"]: q["openTickets"] for q in queues}
    assert counts["Spanish"] == 1
    assert counts["General"] == 0


def test_published_agent_hours_for_members_of_the_clinic(
    frozen, patient_client, clinic, other_clinic, make_agent, make_user
) -> None:
    day = make_agent(clinic, languages=("en", "es"))
    make_agent(clinic, hours=((5, 10, 14),))  # Saturdays only
    make_agent(other_clinic)
    agents = patient_client.get(reverse("support-agents")).json()
    assert len(agents) == 2
    first = next(a for a in agents if a["id"] == day.public_id)
    assert first["languages"] == ["en", "es"]
    assert first["availableNow"] is True
    assert first["hours"][0] == {"weekday": 0, "starts": "09:00:00", "ends": "17:00:00"}
    assert [a["availableNow"] for a in agents].count(False) == 1
    assert client_for(make_user(User.Kind.PATIENT)).get(reverse("support-agents")).json() == []
