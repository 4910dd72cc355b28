"""Routing by language and region; least-loaded assignment among agents working now."""

import pytest

from rbac.models import AuditEvent
from support.models import Ticket
from tests.support.conftest import ny, queue

pytestmark = pytest.mark.django_db


def test_routes_by_language_and_region(frozen, new_ticket, clinic) -> None:
    assert new_ticket(language="en", region="NY").queue == queue(clinic, "New York English")
    assert new_ticket(language="es", region="NY").queue == queue(clinic, "Spanish")
    assert new_ticket(language="en", region="NJ").queue == queue(clinic, "General")
    assert new_ticket(language="fr", region="").queue == queue(clinic, "General")


def test_assigns_least_loaded_agent_who_speaks_the_language(
    frozen, new_ticket, make_agent, clinic
) -> None:
    busy = make_agent(clinic, languages=("en",))
    free = make_agent(clinic, languages=("en", "es"))
    for _ in range(2):
        Ticket.objects.filter(pk=new_ticket().pk).update(assignee=busy)
    assert Ticket.objects.filter(assignee=busy).count() == 2
    assert new_ticket().assignee == free
    # Spanish: only ``free`` speaks it, whatever the load.
    assert new_ticket(language="es").assignee == free
    assert new_ticket(language="es").assignee == free
    audit = AuditEvent.objects.filter(action="ticket.created").order_by("-pk").first()
    assert audit.metadata["assignee"] == free.public_id


def test_agent_outside_published_hours_is_not_available(
    frozen, new_ticket, make_agent, clinic
) -> None:
    make_agent(clinic, hours=((0, 9, 17),))  # Mondays only
    night_owl = make_agent(clinic, hours=((0, 18, 24), (1, 0, 2)))
    # Monday 10:00: only the day agent works; the night owl has no tickets but is off.
    assert new_ticket().assignee != night_owl
    frozen(ny(2026, 3, 2, 23, 0))
    assert new_ticket().assignee == night_owl
    frozen(ny(2026, 3, 3, 12, 0))  # Tuesday noon: nobody works
    ticket = new_ticket()
    assert ticket.assignee is None
    assert ticket.status == Ticket.Status.NEW


def test_other_clinic_agents_are_never_assigned(
    frozen, new_ticket, make_agent, clinic, other_clinic
) -> None:
    make_agent(other_clinic)
    assert new_ticket().assignee is None
