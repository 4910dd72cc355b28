"""SLA timers on a ticket: compute due and warning instants, pause, resume, re-target.

These functions change the ticket instance in memory; the services save it. Every deadline is
``base + target + paused`` in business time, so pausing, resuming, a priority change and an
escalation all go through ``sla_recompute``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from support.businesstime import Schedule, add_business_time, business_time_between
from support.models import SlaPolicy, SlaTarget, Ticket
from support.models.ticket import SLA_TARGETS, Status
from support.schedules import calendar_schedule

WARNING_FRACTION = 0.8


def sla_policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The partner tier's policy for partner tickets, else the default policy, of the ticket's
    desk (its clinic's, or with no clinic the platform's)."""
    policies = {
        p.partner_tier: p
        for p in SlaPolicy.objects.filter(clinic_id=ticket.clinic_id).select_related("calendar")
    }
    if ticket.partner_tier and ticket.partner_tier in policies:
        return policies[ticket.partner_tier]
    return policies.get("")


def _target(ticket: Ticket) -> SlaTarget | None:
    if ticket.sla_policy_id is None:
        return None
    return SlaTarget.objects.filter(
        policy_id=ticket.sla_policy_id, priority=ticket.priority
    ).first()


def ticket_schedule(ticket: Ticket) -> Schedule | None:
    if ticket.sla_policy is None:
        return None
    return calendar_schedule(ticket.sla_policy.calendar)


def _set(
    ticket: Ticket,
    name: str,
    *,
    schedule: Schedule,
    base: datetime | None,
    minutes: int,
    paused: int,
    now: datetime,
) -> None:
    if base is None or minutes <= 0:
        setattr(ticket, f"{name}_due_at", None)
        setattr(ticket, f"{name}_warn_at", None)
        return
    extra = timedelta(seconds=paused)
    due = add_business_time(schedule, base, timedelta(minutes=minutes) + extra)
    warn = add_business_time(schedule, base, timedelta(minutes=minutes * WARNING_FRACTION) + extra)
    setattr(ticket, f"{name}_due_at", due)
    setattr(ticket, f"{name}_warn_at", warn)
    # A re-target that moves a threshold into the future re-arms it.
    if due > now:
        setattr(ticket, f"{name}_breached_at", None)
    if warn > now:
        setattr(ticket, f"{name}_warned_at", None)


def sla_recompute(ticket: Ticket, *, now: datetime, schedule: Schedule | None = None) -> None:
    """Set every running target's due and warning instants from the ticket's current state."""
    target = _target(ticket)
    schedule = schedule or ticket_schedule(ticket)
    if target is None or schedule is None:
        for name in SLA_TARGETS:
            setattr(ticket, f"{name}_due_at", None)
            setattr(ticket, f"{name}_warn_at", None)
        return
    if ticket.first_responded_at is None:  # a met target keeps its due time for reporting
        _set(
            ticket,
            "first_response",
            schedule=schedule,
            base=ticket.created_at,
            minutes=target.first_response_minutes,
            paused=ticket.sla_paused_seconds,
            now=now,
        )
    _set(
        ticket,
        "next_response",
        schedule=schedule,
        base=ticket.next_response_started_at,
        minutes=target.next_response_minutes,
        paused=ticket.next_response_paused_seconds,
        now=now,
    )
    _set(
        ticket,
        "resolution",
        schedule=schedule,
        base=ticket.created_at,
        minutes=target.resolution_minutes,
        paused=ticket.sla_paused_seconds,
        now=now,
    )


def sla_pause(ticket: Ticket, *, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def sla_resume(ticket: Ticket, *, now: datetime) -> None:
    """Add the business time spent paused to the ticket's paused totals, then re-target."""
    if ticket.sla_paused_at is None:
        return
    schedule = ticket_schedule(ticket)
    if schedule is not None:
        paused = int(business_time_between(schedule, ticket.sla_paused_at, now).total_seconds())
        ticket.sla_paused_seconds += paused
        if ticket.next_response_started_at is not None:
            since = max(ticket.sla_paused_at, ticket.next_response_started_at)
            ticket.next_response_paused_seconds += int(
                business_time_between(schedule, since, now).total_seconds()
            )
    ticket.sla_paused_at = None
    sla_recompute(ticket, now=now, schedule=schedule)


def sla_first_response_met(ticket: Ticket, *, now: datetime) -> None:
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    # An agent's public reply answers any waiting requester update.
    ticket.next_response_started_at = None
    ticket.next_response_paused_seconds = 0
    ticket.next_response_due_at = None
    ticket.next_response_warn_at = None
    ticket.next_response_warned_at = None
    ticket.next_response_breached_at = None


def sla_next_response_start(ticket: Ticket, *, now: datetime) -> None:
    """A requester's update after an agent reply starts the next-response clock."""
    if ticket.first_responded_at is None or ticket.next_response_started_at is not None:
        return
    ticket.next_response_started_at = now
    ticket.next_response_paused_seconds = 0
    sla_recompute(ticket, now=now)


@dataclass(frozen=True)
class TargetState:
    name: str
    due_at: datetime | None
    warn_at: datetime | None
    remaining_minutes: float | None
    warned: bool
    breached: bool
    met: bool


def sla_state(ticket: Ticket, *, now: datetime, schedule: Schedule | None) -> list[TargetState]:
    """Each target's due time, remaining business minutes (negative once overdue) and flags."""
    states = []
    clock = ticket.sla_paused_at or now
    for name in SLA_TARGETS:
        due = getattr(ticket, f"{name}_due_at")
        met = (name == "first_response" and ticket.first_responded_at is not None) or (
            name == "resolution"
            and ticket.solved_at is not None
            and ticket.status in (Status.SOLVED, Status.CLOSED)
        )
        remaining = None
        if due is not None and schedule is not None and not met:
            if due >= clock:
                remaining = business_time_between(schedule, clock, due).total_seconds() / 60
            else:
                remaining = -business_time_between(schedule, due, clock).total_seconds() / 60
            remaining = round(remaining, 1)
        breached_at = getattr(ticket, f"{name}_breached_at")
        states.append(
            TargetState(
                name=name,
                due_at=due,
                warn_at=getattr(ticket, f"{name}_warn_at"),
                remaining_minutes=remaining,
                warned=getattr(ticket, f"{name}_warned_at") is not None,
                breached=breached_at is not None or (not met and due is not None and due <= clock),
                met=met,
            )
        )
    return states
