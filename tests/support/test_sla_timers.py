"""SLA due times on tickets, with frozen time: start, pause/resume, re-target, responses."""

import pytest

from rbac.models import AuditEvent
from support.models import Ticket
from support.services.comments import ticket_comment_add
from support.services.tickets import (
    InvalidTransitionError,
    ReopenWindowClosedError,
    ticket_priority_change,
    ticket_status_change,
)
from tests.support.conftest import ny

pytestmark = pytest.mark.django_db


def test_create_sets_due_and_warning_instants(frozen, new_ticket) -> None:
    ticket = new_ticket()
    ticket.refresh_from_db()
    assert ticket.sla_policy is not None
    assert ticket.first_response_due_at == ny(2026, 3, 2, 11, 0)
    assert ticket.first_response_warn_at == ny(2026, 3, 2, 10, 48)
    # 480 business minutes: 7h Monday + 1h Tuesday.
    assert ticket.resolution_due_at == ny(2026, 3, 3, 10, 0)
    assert ticket.resolution_warn_at == ny(2026, 3, 2, 16, 24)
    assert ticket.next_response_due_at is None


def test_ticket_created_at_night_starts_next_morning(frozen, new_ticket) -> None:
    frozen(ny(2026, 3, 6, 20, 0))  # Friday evening
    ticket = new_ticket()
    assert ticket.first_response_due_at == ny(2026, 3, 9, 10, 0)


def test_pending_pauses_and_resume_shifts_by_business_time(frozen, new_ticket, actor) -> None:
    ticket = new_ticket()
    frozen(ny(2026, 3, 2, 10, 30))
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.PENDING, actor=actor)
    assert ticket.sla_paused_at == ny(2026, 3, 2, 10, 30)
    frozen(ny(2026, 3, 3, 10, 0))  # Tuesday 10:00: paused 6.5h Monday + 1h Tuesday
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.OPEN, actor=actor)
    ticket.refresh_from_db()
    assert ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == 450 * 60
    # 30 minutes were used before the pause, 30 remain.
    assert ticket.first_response_due_at == ny(2026, 3, 3, 10, 30)
    assert ticket.first_response_warn_at == ny(2026, 3, 3, 10, 18)


def test_paused_ticket_is_not_swept(frozen, new_ticket, actor) -> None:
    from support.services.sweep import sla_sweep

    ticket = new_ticket()
    ticket_status_change(ticket=ticket, status=Ticket.Status.ON_HOLD, actor=actor)
    frozen(ny(2026, 3, 4, 12, 0))
    result = sla_sweep()
    assert all(not ids for ids in result.warned.values())
    assert all(not ids for ids in result.breached.values())


def test_priority_change_retargets_and_rearms(frozen, new_ticket, actor) -> None:
    ticket = new_ticket(priority="urgent")
    assert ticket.first_response_due_at == ny(2026, 3, 2, 10, 15)
    frozen(ny(2026, 3, 2, 10, 14))
    Ticket.objects.filter(pk=ticket.pk).update(first_response_warned_at=ny(2026, 3, 2, 10, 12))
    ticket = ticket_priority_change(ticket=ticket, priority="low", actor=actor, reason="typo")
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ny(2026, 3, 2, 14, 0)
    assert ticket.first_response_warned_at is None  # the new warning instant is ahead
    event = AuditEvent.objects.get(action="ticket.priority_changed", target_ref=ticket.public_id)
    assert event.metadata == {"from": "urgent", "to": "low"}
    assert event.reason == "typo"


def test_agent_reply_meets_first_response_and_requester_reply_starts_next(
    frozen, new_ticket, make_agent, clinic, patient, actor
) -> None:
    agent = make_agent(clinic)
    ticket = new_ticket()
    frozen(ny(2026, 3, 2, 10, 20))
    ticket_comment_add(ticket=ticket, body="Looking", actor=actor, author=agent, is_agent=True)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == ny(2026, 3, 2, 10, 20)
    assert ticket.status == Ticket.Status.OPEN
    frozen(ny(2026, 3, 2, 16, 30))
    ticket_comment_add(ticket=ticket, body="Any news?", actor=actor, author=patient)
    ticket.refresh_from_db()
    assert ticket.next_response_started_at == ny(2026, 3, 2, 16, 30)
    # 120 business minutes: 30 Monday + 90 Tuesday.
    assert ticket.next_response_due_at == ny(2026, 3, 3, 10, 30)
    ticket_comment_add(ticket=ticket, body="Fixed", actor=actor, author=agent, is_agent=True)
    ticket.refresh_from_db()
    assert ticket.next_response_due_at is None


def test_internal_note_does_not_meet_response_target(frozen, new_ticket, make_agent, clinic, actor):
    agent = make_agent(clinic)
    ticket = new_ticket()
    ticket_comment_add(
        ticket=ticket, body="Check billing", actor=actor, author=agent, is_agent=True, internal=True
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    assert ticket.status == Ticket.Status.NEW


def test_status_machine_and_reopen_window(frozen, new_ticket, patient, actor, settings) -> None:
    settings.SUPPORT_REOPEN_WINDOW_DAYS = 3
    ticket = new_ticket()
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.SOLVED, actor=actor)
    assert ticket.solved_at is not None and ticket.sla_paused_at is not None
    frozen(ny(2026, 3, 3, 10, 0))
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.OPEN, actor=actor)
    assert ticket.reopened_count == 1
    assert AuditEvent.objects.filter(action="ticket.reopened").count() == 1
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.SOLVED, actor=actor)
    frozen(ny(2026, 3, 7, 10, 0))
    with pytest.raises(ReopenWindowClosedError):
        ticket_status_change(ticket=ticket, status=Ticket.Status.OPEN, actor=actor)
    ticket = ticket_status_change(ticket=ticket, status=Ticket.Status.CLOSED, actor=actor)
    with pytest.raises(InvalidTransitionError):
        ticket_status_change(ticket=ticket, status=Ticket.Status.OPEN, actor=actor)


def test_requester_reply_reopens_a_pending_ticket(frozen, new_ticket, patient, actor) -> None:
    ticket = new_ticket()
    ticket_status_change(ticket=ticket, status=Ticket.Status.PENDING, actor=actor)
    ticket_comment_add(ticket=ticket, body="Here is the receipt", actor=actor, author=patient)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.sla_paused_at is None


def test_phi_is_encrypted_at_rest(frozen, new_ticket) -> None:
    from django.db import connection

    ticket = new_ticket(subject="Rash on my arm")
    with connection.cursor() as cursor:
        cursor.execute("SELECT subject FROM support_ticket WHERE id = %s", [ticket.pk])
        raw = cursor.fetchone()[0]
    assert "Rash" not in raw
    assert Ticket.objects.get(pk=ticket.pk).subject == "Rash on my arm"
