"""The support console: agent view with SLA countdowns, filters, bulk assign, escalate, CSAT."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from rbac.models import AuditEvent, User
from support.models import Ticket
from support.services.csat import ticket_rate
from support.services.tickets import ticket_status_change
from tests.clients import SignedInClient
from tests.support.conftest import ny, queue

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/support/ticket/"


@pytest.fixture
def admin_client(make_user, settings) -> Client:
    # These tests move the clock by hours between requests (SLA countdowns): the idle limit of
    # a PHI session would sign the superuser out in between.
    settings.ACCOUNTS_PHI_SESSION_IDLE_SECONDS = 24 * 3600
    admin = make_user(User.Kind.STAFF, is_staff=True, is_superuser=True)
    client = SignedInClient()
    client.force_login(admin)
    return client


def test_changelist_shows_countdowns_and_breaches_without_query_per_row(
    frozen, admin_client, new_ticket, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        new_ticket()
    frozen(ny(2026, 3, 2, 10, 40))
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "0h20m" in response.content.decode()
    frozen(ny(2026, 3, 2, 11, 30))
    for _ in range(5):
        new_ticket()
    with django_assert_max_num_queries(15):
        response = admin_client.get(CHANGELIST)
    html = response.content.decode()
    assert html.count("overdue 0h30m") == 3
    assert 'style="color:#ba2121"' in html


def test_filters_by_sla_state_queue_status_priority(frozen, admin_client, new_ticket, clinic):
    late = new_ticket()
    frozen(ny(2026, 3, 2, 11, 30))
    fresh = new_ticket(language="es", priority="high")

    def ids(query: str) -> set[str]:
        response = admin_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return {t.public_id for t in response.context["cl"].result_list}

    assert ids("sla=breached") == {late.public_id}
    assert ids("sla=ok") == {fresh.public_id}
    assert ids(f"queue__id__exact={queue(clinic, 'Spanish').pk}") == {fresh.public_id}
    assert ids("priority__exact=high") == {fresh.public_id}
    assert ids("status__exact=new") == {late.public_id, fresh.public_id}


def test_bulk_assign_and_escalate_actions_call_services(
    frozen, admin_client, new_ticket, make_agent, clinic
) -> None:
    tickets = [new_ticket(), new_ticket()]
    agent = make_agent(clinic, hours=())
    supervisor = make_agent(clinic, supervisor=True, hours=())
    pks = [t.pk for t in tickets]
    form = admin_client.post(CHANGELIST, {"action": "assign_selected", ACTION_CHECKBOX_NAME: pks})
    assert form.status_code == 200 and b"Assign tickets" in form.content
    done = admin_client.post(
        CHANGELIST,
        {
            "action": "assign_selected",
            ACTION_CHECKBOX_NAME: pks,
            "apply": "1",
            "assignee": agent.pk,
        },
    )
    assert done.status_code == 302
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent.pk}
    assert AuditEvent.objects.filter(action="ticket.assigned").count() == 2

    admin_client.post(CHANGELIST, {"action": "escalate_selected", ACTION_CHECKBOX_NAME: pks[:1]})
    escalated = Ticket.objects.get(pk=pks[0])
    assert escalated.assignee == supervisor
    assert escalated.queue == queue(clinic, "Escalations")
    assert AuditEvent.objects.get(action="ticket.escalated").metadata["kind"] == "agent"


def test_policy_and_calendar_editing_pages(frozen, admin_client, clinic) -> None:
    from support.models import BusinessCalendar, SlaPolicy

    policy = SlaPolicy.objects.get(clinic=clinic)
    calendar = BusinessCalendar.objects.get(clinic=clinic)
    assert admin_client.get(f"/admin/support/slapolicy/{policy.pk}/change/").status_code == 200
    page = admin_client.get(f"/admin/support/businesscalendar/{calendar.pk}/change/")
    assert page.status_code == 200
    assert b"Closures" in page.content or b"closure" in page.content.lower()


def test_csat_report_view(frozen, admin_client, new_ticket, make_agent, clinic, actor) -> None:
    make_agent(clinic)
    ticket = ticket_status_change(ticket=new_ticket(), status=Ticket.Status.SOLVED, actor=actor)
    ticket_rate(ticket=ticket, rating=4, actor=actor)
    response = admin_client.get("/admin/support/csatresponse/report/")
    assert response.status_code == 200
    assert response.context["report"]["clinics"][0]["average"] == 4.0
    assert clinic.name.encode() in response.content


def test_agent_staff_sees_only_their_clinic(
    frozen, new_ticket, make_agent, clinic, other_clinic, make_user
) -> None:
    mine = new_ticket()
    theirs = new_ticket(clinic=other_clinic)
    agent = make_agent(clinic)
    User.objects.filter(pk=agent.pk).update(is_staff=True)
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = SignedInClient()
    client.force_login(User.objects.get(pk=agent.pk))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    shown = {t.public_id for t in response.context["cl"].result_list}
    assert shown == {mine.public_id}
    assert theirs.public_id not in response.content.decode()
