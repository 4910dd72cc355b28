"""Partners' support tickets go to the platform: ``POST /api/v1/support/tickets`` with a partner
credential and no ``clinicId`` opens a ticket on the platform's partner-support desk (seeded by
support/migrations/0004), with the SLA of the partner's tier. The partner sees its own tickets,
other partners get 404, clinic staff do not see them, CareOS staff on the desk work them."""

from datetime import time

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from partners.models import PlatformEvent
from rbac.models import User
from rbac.roles import PLATFORM
from support.models import AgentProfile, AgentWorkingHours, Queue, SlaPolicy, Ticket
from tests.clients import SignedInAPIClient, SignedInClient
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/support/tickets"
AGENT_QUEUE = "/api/v1/support/tickets/queue"
SCOPES = ["read:support", "write:support"]


def client_for(user: User) -> APIClient:
    client = SignedInAPIClient()
    client.force_login(user)
    return client


@pytest.fixture
def platform_staff(make_user):  # type: ignore[no-untyped-def]
    """CareOS staff on the partner-support desk, an agent there round the clock."""
    user = make_user(User.Kind.STAFF, is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM))  # platform staff: opens the console
    user.user_permissions.add(
        Permission.objects.get(codename="work_platform_ticket"),
        Permission.objects.get(codename="view_ticket"),
    )
    profile = AgentProfile.objects.create(user=user, clinic=None, languages=["en"], timezone="UTC")
    for day in range(7):
        AgentWorkingHours.objects.create(agent=profile, weekday=day, starts=time(0), ends=time(0))
    return User.objects.get(pk=user.pk)


def open_ticket(client: APIClient, **body: object) -> dict:
    response = client.post(TICKETS, {"subject": "Webhook signatures fail", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    ("tier", "priority", "first_response_due"),
    [
        # Monday 15:00 UTC; basic and pro run on business days 09:00-17:00 UTC.
        ("basic", "normal", "2026-03-04T15:00:00Z"),  # 960 business minutes
        ("pro", "normal", "2026-03-03T11:00:00Z"),  # 240
        ("enterprise", "urgent", "2026-03-02T15:30:00Z"),  # 30, round the clock
    ],
)
def test_a_partner_without_clinic_opens_a_ticket_on_the_platform_desk_with_its_tier_sla(
    frozen, partner_api_client, tier, priority, first_response_due
) -> None:
    partner = PartnerFactory(tier=tier)
    client = partner_api_client(partner=partner, scopes=SCOPES)

    body = open_ticket(client, priority=priority, description="Since the key rotation.")

    assert body["clinicId"] is None
    assert body["requesterKind"] == "partner" and body["requesterId"] == partner.public_id
    desk_queue = Queue.objects.get(clinic=None, name="Partner support")
    assert body["queueId"] == desk_queue.public_id
    policy = SlaPolicy.objects.get(clinic=None, partner_tier=tier)
    assert body["sla"]["policyId"] == policy.public_id
    assert body["sla"]["firstResponse"]["dueAt"] == first_response_due
    ticket = Ticket.objects.get(public_id=body["id"])
    assert (ticket.clinic, ticket.requester_partner, ticket.partner_tier) == (None, partner, tier)
    assert ticket.comments.get().author_partner == partner
    event = PlatformEvent.objects.get(event_type__name="ticket.created")
    assert event.owner == partner
    assert event.payload["clinicId"] is None and event.payload["ticketId"] == body["id"]


def test_the_partner_reads_its_own_platform_tickets_and_no_other_partner_does(
    frozen, partner_api_client, partner
) -> None:
    mine = partner_api_client(partner=partner, scopes=SCOPES)
    other = partner_api_client(scopes=SCOPES)
    body = open_ticket(mine, category="webhooks")
    theirs = open_ticket(other)

    assert [t["id"] for t in mine.get(TICKETS).json()["results"]] == [body["id"]]
    assert mine.get(f"{TICKETS}/{body['id']}").json()["clinicId"] is None
    reply = mine.post(f"{TICKETS}/{body['id']}/comments", {"body": "Still failing"}, format="json")
    assert reply.status_code == 201
    for path in (f"{TICKETS}/{body['id']}", f"{TICKETS}/{body['id']}/comments"):
        response = other.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert mine.get(f"{TICKETS}/{theirs['id']}").status_code == 404


def test_clinic_staff_do_not_see_platform_tickets(
    frozen, partner_api_client, partner, clinic, make_agent, new_ticket
) -> None:
    clinic_ticket = new_ticket()
    body = open_ticket(partner_api_client(partner=partner, scopes=SCOPES))
    agent = make_agent(clinic, supervisor=True)
    User.objects.filter(pk=agent.pk).update(is_staff=True)
    agent = User.objects.get(pk=agent.pk)
    agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = client_for(User.objects.get(pk=agent.pk))

    listed = [t["id"] for t in client.get(AGENT_QUEUE).json()["results"]]
    assert listed == [clinic_ticket.public_id]
    assert client.get(f"{TICKETS}/{body['id']}").status_code == 404
    assign = client.post(f"{TICKETS}/{body['id']}/assign", {"assigneeId": None}, format="json")
    assert assign.status_code == 404
    queues = {q["name"] for q in client.get("/api/v1/support/queues").json()}
    assert "Partner support" not in queues
    admin = SignedInClient()
    admin.force_login(User.objects.get(pk=agent.pk))
    page = admin.get("/admin/support/ticket/")
    assert page.status_code == 200
    shown = {t.public_id for t in page.context["cl"].result_list}
    assert shown == {clinic_ticket.public_id}


def test_platform_staff_are_assigned_and_work_partner_tickets(
    frozen, partner_api_client, partner, platform_staff, make_agent, clinic, new_ticket
) -> None:
    clinic_ticket = new_ticket()
    body = open_ticket(partner_api_client(partner=partner, scopes=SCOPES))
    assert body["assigneeId"] == platform_staff.public_id  # the desk's available agent
    staff = client_for(platform_staff)

    listed = [t["id"] for t in staff.get(AGENT_QUEUE).json()["results"]]
    assert listed == [body["id"]]  # and no clinic's ticket
    assert staff.get(f"{TICKETS}/{clinic_ticket.public_id}").status_code == 404
    note = staff.post(
        f"{TICKETS}/{body['id']}/comments",
        {"body": "Checking logs", "internal": True},
        format="json",
    )
    assert note.status_code == 201 and note.json()["kind"] == "internal"
    solved = staff.post(f"{TICKETS}/{body['id']}/status", {"status": "solved"}, format="json")
    assert solved.status_code == 200 and solved.json()["status"] == "solved"
    assert {q["name"] for q in staff.get("/api/v1/support/queues").json()} == {
        "Partner support",
        "Partner support escalations",
    }
    # A clinic's agent cannot be given a platform ticket.
    clinic_agent = make_agent(clinic)
    refused = staff.post(
        f"{TICKETS}/{body['id']}/assign", {"assigneeId": clinic_agent.public_id}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_assignee"
    admin = SignedInClient()
    admin.force_login(platform_staff)
    shown = admin.get("/admin/support/ticket/").context["cl"].result_list
    # Platform staff see every ticket in the console (the API's agent queue is the desk's).
    assert {t.public_id for t in shown} == {body["id"], clinic_ticket.public_id}


def test_a_partner_escalation_goes_to_the_platform_escalation_queue(
    frozen, partner_api_client, partner, platform_staff
) -> None:
    client = partner_api_client(partner=partner, scopes=SCOPES)
    body = open_ticket(client)
    escalated = client.post(
        f"{TICKETS}/{body['id']}/escalate", {"reason": "Production is down"}, format="json"
    )
    assert escalated.status_code == 200, escalated.content
    escalations = Queue.objects.get(clinic=None, is_escalation=True)
    assert escalated.json()["queueId"] == escalations.public_id
    assert escalated.json()["escalationLevel"] == 1


def test_only_partners_may_leave_the_clinic_out(
    frozen, partner_api_client, partner, patient
) -> None:
    response = client_for(patient).post(TICKETS, {"subject": "Billing"}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "clinic_required"
    assert response.json()["errors"][0]["field"] == "clinicId"
    unknown = partner_api_client(partner=partner, scopes=SCOPES).post(
        TICKETS, {"clinicId": "cln_nope", "subject": "x"}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "clinic_not_found"
    assert not Ticket.objects.exists()
    # The database holds the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(requester_kind="patient", requester=patient, subject="x")


def test_a_retried_platform_ticket_is_created_once(frozen, partner_api_client, partner) -> None:
    client = partner_api_client(partner=partner, scopes=SCOPES)
    payload = {"subject": "Rate limits"}
    first = client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    again = client.post(TICKETS, payload, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Ticket.objects.count() == 1
    reused = client.post(TICKETS, {"subject": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
