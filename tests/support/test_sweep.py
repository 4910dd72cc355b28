"""The SLA sweep: warning then breach, each acted on once, even with two sweeps racing."""

import threading

import pytest
from django.db import connection

from engagement.models import Message
from partners.models import PlatformEvent
from rbac.models import AuditEvent
from support.models import Ticket
from support.services.sweep import sla_sweep
from support.services.tickets import ticket_status_change
from tests.support.conftest import ny, queue

pytestmark = pytest.mark.django_db


def _ids(result, kind: str, target: str) -> list[int]:
    return getattr(result, kind)[target]


def test_warning_then_breach_each_acted_on_once(
    frozen, new_ticket, make_agent, clinic, django_capture_on_commit_callbacks
) -> None:
    agent = make_agent(clinic)
    supervisor = make_agent(clinic, supervisor=True)
    ticket = new_ticket()
    assert ticket.assignee in (agent, supervisor)
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)

    frozen(ny(2026, 3, 2, 10, 47))
    with django_capture_on_commit_callbacks(execute=True):
        assert _ids(sla_sweep(), "warned", "first_response") == []

    frozen(ny(2026, 3, 2, 10, 49))
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep()
    assert _ids(result, "warned", "first_response") == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.first_response_warned_at == ny(2026, 3, 2, 10, 49)
    assert ticket.first_response_breached_at is None
    warning = Message.objects.get(template_key="support_sla_warning")
    assert warning.recipient == agent
    assert "80%" in warning.body
    with django_capture_on_commit_callbacks(execute=True):
        again = sla_sweep()
    assert _ids(again, "warned", "first_response") == []

    frozen(ny(2026, 3, 2, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep()
    assert _ids(result, "breached", "first_response") == [ticket.pk]
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == ny(2026, 3, 2, 11, 1)
    # Escalated: priority one step up, escalation queue, supervisor assigned.
    assert ticket.priority == "high"
    assert ticket.queue == queue(clinic, "Escalations")
    assert ticket.assignee == supervisor
    assert ticket.escalation_level == 1
    escalation = AuditEvent.objects.get(action="ticket.escalated", target_ref=ticket.public_id)
    assert escalation.actor_ref == "system:support.sla_sweep"
    assert escalation.metadata["kind"] == "automatic"
    breach_events = PlatformEvent.objects.filter(event_type__name="ticket.sla_breached")
    assert breach_events.count() == 1
    assert breach_events.get().payload["ticketId"] == ticket.public_id
    assert breach_events.get().payload["timer"] == "first_response"
    assert Message.objects.get(template_key="support_ticket_escalated").recipient == supervisor

    frozen(ny(2026, 3, 2, 11, 30))
    with django_capture_on_commit_callbacks(execute=True):
        again = sla_sweep()
    assert _ids(again, "breached", "first_response") == []
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == 1
    assert PlatformEvent.objects.filter(event_type__name="ticket.sla_breached").count() == 1
    assert Message.objects.filter(template_key="support_sla_warning").count() == 1


def test_sweep_closes_solved_tickets_after_the_reopen_window(frozen, new_ticket, actor) -> None:
    ticket = new_ticket()
    ticket_status_change(ticket=ticket, status=Ticket.Status.SOLVED, actor=actor)
    frozen(ny(2026, 3, 8, 10, 0))
    assert sla_sweep().closed == 0
    frozen(ny(2026, 3, 9, 11, 1))  # seven 24-hour days later (DST moved the wall clock)
    assert sla_sweep().closed == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED


def test_sweep_query_count_does_not_grow_with_tickets(
    frozen, new_ticket, django_assert_max_num_queries
) -> None:
    for _ in range(3):
        new_ticket()
    frozen(ny(2026, 3, 2, 10, 50))
    with django_assert_max_num_queries(9):
        result = sla_sweep()
    assert len(_ids(result, "warned", "first_response")) == 3
    for _ in range(5):
        new_ticket()
    frozen(ny(2026, 3, 2, 16, 30))
    with django_assert_max_num_queries(9):
        sla_sweep()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks under concurrent writers are a PostgreSQL property; SQLite's in-memory "
    "test database refuses concurrent writers outright (the file database serializes them)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_sweeps_claim_each_threshold_once(frozen, new_ticket) -> None:
    tickets = [new_ticket() for _ in range(20)]
    frozen(ny(2026, 3, 2, 11, 5))  # past the warning and the breach of every first response
    barrier = threading.Barrier(2)
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            barrier.wait(timeout=5)
            results.append(sla_sweep())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    for kind in ("warned", "breached"):
        first, second = (_ids(r, kind, "first_response") for r in results)
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(t.pk for t in tickets)
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == 20


def test_next_response_and_resolution_thresholds_are_swept(
    frozen, new_ticket, make_agent, clinic, patient, actor, django_capture_on_commit_callbacks
) -> None:
    from support.services.comments import ticket_comment_add

    agent = make_agent(clinic)
    ticket = new_ticket()
    frozen(ny(2026, 3, 2, 10, 20))
    ticket_comment_add(ticket=ticket, body="Looking", actor=actor, author=agent, is_agent=True)
    frozen(ny(2026, 3, 2, 16, 30))
    ticket_comment_add(ticket=ticket, body="Any news?", actor=actor, author=patient)
    ticket.refresh_from_db()
    assert ticket.next_response_warn_at == ny(2026, 3, 3, 10, 6)  # 96 of 120 business minutes
    frozen(ny(2026, 3, 3, 10, 7))
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep()
    assert result.warned["next_response"] == [ticket.pk]
    assert result.warned["resolution"] == [ticket.pk]  # 80% of 480 was Monday 16:24
    assert result.breached["resolution"] == [ticket.pk]  # due Tuesday 10:00
    assert result.breached["next_response"] == []
    ticket.refresh_from_db()
    assert ticket.priority == "high" and ticket.escalation_level == 1


def test_a_retried_breach_batch_escalates_once(
    frozen, new_ticket, make_agent, clinic, django_capture_on_commit_callbacks
) -> None:
    from support.services.sweep import sla_breaches_escalate

    make_agent(clinic, supervisor=True)
    ticket = new_ticket()
    frozen(ny(2026, 3, 2, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    assert sla_breaches_escalate(ticket_ids=[ticket.pk], target="first_response") == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert ticket.priority == "high"
    assert PlatformEvent.objects.filter(event_type__name="ticket.sla_breached").count() == 1
