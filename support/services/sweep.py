"""The SLA sweep: set-based claims of warning and breach thresholds, each acted on once.

Each threshold is one conditional ``UPDATE … WHERE <flag> IS NULL AND <instant> <= now
RETURNING id``. Two sweeps racing on PostgreSQL: the second UPDATE waits on the rows the first
locked, re-checks ``<flag> IS NULL`` after it commits, and skips them; so every id is returned by
exactly one sweep. The per-ticket work (notify, escalate) then runs in batched tasks for the
claimed ids only, never as a loop over all open tickets.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from careos.actors import system_actor
from support import events, notifications
from support.models import Ticket
from support.models.ticket import RUNNING_STATUSES, SLA_TARGETS, Status
from support.services.escalation import EscalationKind, ticket_escalate
from support.services.tickets import reopen_window

BATCH = 200
SWEEP_ACTOR = "support.sla_sweep"


@dataclass
class SweepResult:
    warned: dict[str, list[int]] = field(default_factory=dict)
    breached: dict[str, list[int]] = field(default_factory=dict)
    closed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        out = {f"warned_{k}": len(v) for k, v in self.warned.items()}
        out.update({f"breached_{k}": len(v) for k, v in self.breached.items()})
        out["closed"] = self.closed
        return out


def _claim(*, target: str, kind: str, now: datetime) -> list[int]:
    table = Ticket._meta.db_table
    flag = f"{target}_{'warned' if kind == 'warn' else 'breached'}_at"
    instant = f"{target}_{'warn' if kind == 'warn' else 'due'}_at"
    met = " AND first_responded_at IS NULL" if target == "first_response" else ""
    statuses = ", ".join(f"'{s}'" for s in RUNNING_STATUSES)
    # Identifiers come from our own model, never from input; only ``now`` is a parameter.
    sql = (
        f'UPDATE "{table}" SET "{flag}" = %s '  # noqa: S608
        f'WHERE "status" IN ({statuses}){met} AND "{flag}" IS NULL '
        f'AND "{instant}" IS NOT NULL AND "{instant}" <= %s RETURNING "id"'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now])
        return [row[0] for row in cursor.fetchall()]


def _batches(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]


@transaction.atomic
def sla_sweep(*, now: datetime | None = None) -> SweepResult:
    """Claim every warning and breach reached by ``now`` (one UPDATE each), close solved tickets
    past the reopen window, and queue the follow-up work for the claimed ids after commit."""
    from support import tasks

    now = now or timezone.now()
    result = SweepResult()
    for target in SLA_TARGETS:
        result.warned[target] = _claim(target=target, kind="warn", now=now)
        result.breached[target] = _claim(target=target, kind="breach", now=now)
    result.closed = Ticket.objects.filter(
        status=Status.SOLVED, solved_at__lte=now - reopen_window()
    ).update(status=Status.CLOSED, closed_at=now)
    for target, ids in result.warned.items():
        for batch in _batches(ids):
            transaction.on_commit(
                lambda b=batch, t=target: tasks.sla_warnings_notify.delay(ticket_ids=b, target=t)
            )
    for target, ids in result.breached.items():
        for batch in _batches(ids):
            transaction.on_commit(
                lambda b=batch, t=target: tasks.sla_breaches_escalate.delay(ticket_ids=b, target=t)
            )
    return result


def sla_warnings_notify(*, ticket_ids: list[int], target: str) -> int:
    """Notify each assignee of a claimed warning (claimed once by the sweep)."""
    tickets = Ticket.objects.filter(pk__in=ticket_ids).select_related("assignee", "clinic")
    count = 0
    for ticket in tickets:
        notifications.sla_warning(ticket=ticket, target=target)
        count += 1
    return count


def sla_breach_handle(*, ticket: Ticket, target: str) -> Ticket:
    """Escalate a claimed breach: supervisor, priority one step up, escalation queue, event."""
    actor = system_actor(SWEEP_ACTOR)
    with transaction.atomic():
        breached_at = getattr(ticket, f"{target}_breached_at")
        if ticket.status not in RUNNING_STATUSES or breached_at is None:
            return ticket
        if ticket.escalated_at is not None and ticket.escalated_at >= breached_at:
            return ticket  # a retried batch: this breach was already escalated
        ticket = ticket_escalate(
            ticket=ticket,
            actor=actor,
            reason=f"SLA {target.replace('_', ' ')} target breached",
            kind=EscalationKind.AUTOMATIC,
            raise_priority=True,
        )
        events.ticket_event(
            ticket=ticket,
            event_type="ticket.sla_breached",
            extra={"timer": target, "dueAt": _iso(getattr(ticket, f"{target}_due_at"))},
        )
    return ticket


def sla_breaches_escalate(*, ticket_ids: list[int], target: str) -> int:
    count = 0
    for ticket in Ticket.objects.filter(pk__in=ticket_ids):
        sla_breach_handle(ticket=ticket, target=target)
        count += 1
    return count


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
