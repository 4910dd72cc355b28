"""Ticket lifecycle: create (route + assign), comment, status, priority, assign."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from partners.models import Partner
from rbac.models import Clinic, User
from rbac.services import audit_record
from support import events, notifications
from support.models import Queue, Ticket, TicketComment
from support.models.ticket import PAUSED_STATUSES, PRIORITY_ORDER, Status
from support.selectors import available_agents, queue_route
from support.sla import sla_pause, sla_policy_for, sla_recompute, sla_resume

# Allowed status moves; solved → open is a reopen (within the reopen window).
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED},
    Status.OPEN: {Status.PENDING, Status.ON_HOLD, Status.SOLVED},
    Status.PENDING: {Status.OPEN, Status.ON_HOLD, Status.SOLVED},
    Status.ON_HOLD: {Status.OPEN, Status.PENDING, Status.SOLVED},
    Status.SOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
}
CLOCK_STOPPED = (*PAUSED_STATUSES, Status.SOLVED.value, Status.CLOSED.value)


class InvalidTransitionError(ConflictError):
    code = "invalid_status_transition"


class ReopenWindowClosedError(ConflictError):
    code = "reopen_window_closed"


class TicketClosedError(ConflictError):
    code = "ticket_closed"


class ClinicRequiredError(DomainError):
    code = "clinic_required"
    status = 400
    title = "A clinic is required"


@dataclass
class TicketInput:
    # None: a partner's request to CareOS itself, for the platform's partner-support desk.
    clinic: Clinic | None
    subject: str
    description: str = ""
    priority: str = Ticket.Priority.NORMAL
    channel: str = Ticket.Channel.API
    language: str = "en"
    region: str = ""
    category: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)


def _audit(
    *,
    actor: Actor | User,
    action: str,
    ticket: Ticket,
    request: HttpRequest | None = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="support.ticket",
        target_ref=ticket.public_id,
        patient=ticket.requester if ticket.requester_kind == Ticket.RequesterKind.PATIENT else None,
        clinic=ticket.clinic,
        request=request,
        reason=reason,
        metadata=metadata or {},
    )


def ticket_lock(*, ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock (the caller's transaction)."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related(
            "clinic", "queue", "sla_policy__calendar", "requester", "requester_partner", "assignee"
        )
        .get(pk=ticket.pk)
    )


def _requester_kind(user: User | None, partner: Partner | None) -> str:
    if partner is not None:
        return Ticket.RequesterKind.PARTNER
    if user is not None and user.kind == User.Kind.SPECIALIST:
        return Ticket.RequesterKind.SPECIALIST
    return Ticket.RequesterKind.PATIENT


@transaction.atomic
def ticket_create(
    *,
    data: TicketInput,
    actor: Actor | User,
    requester: User | None = None,
    requester_partner: Partner | None = None,
    request: HttpRequest | None = None,
) -> Ticket:
    """Create, route to a queue by language and region, assign the least-loaded available agent
    who speaks the language, start the SLA clock (the partner tier's policy for a partner).
    ``data.clinic`` empty (partners only): all of that on the platform's partner-support desk.
    A retried API request is answered by the kernel's ``@idempotent`` (``Idempotency-Key``)."""
    if requester is None and requester_partner is None:
        raise DomainError("A ticket needs a requester.", code="requester_required")
    if data.clinic is None and requester_partner is None:
        raise ClinicRequiredError(
            "Name the clinic the ticket is for.",
            extra={"errors": [{"field": "clinicId", "code": "required", "message": "Required."}]},
        )
    now = timezone.now()
    ticket = Ticket(
        clinic=data.clinic,
        requester_kind=_requester_kind(requester, requester_partner),
        requester=requester,
        requester_partner=requester_partner,
        partner_tier=requester_partner.tier if requester_partner else "",
        subject=data.subject,
        description=data.description,
        priority=data.priority,
        channel=data.channel,
        language=data.language,
        region=data.region,
        category=data.category,
    )
    ticket.queue = queue_route(clinic=data.clinic, language=data.language, region=data.region)
    agents = available_agents(clinic=data.clinic, language=data.language, now=now)
    ticket.assignee = agents[0].user if agents else None
    ticket.sla_policy = sla_policy_for(ticket)
    ticket.save()
    sla_recompute(ticket, now=now)
    ticket.save()
    if data.description or data.attachments:
        TicketComment.objects.create(
            ticket=ticket,
            kind=TicketComment.Kind.PUBLIC,
            author=requester,
            author_partner=requester_partner,
            body=data.description or data.subject,
            language=data.language,
            attachments=data.attachments,
        )
    _audit(
        actor=actor,
        action="ticket.created",
        ticket=ticket,
        request=request,
        metadata={
            "queue": ticket.queue.public_id if ticket.queue else None,
            "assignee": ticket.assignee.public_id if ticket.assignee else None,
        },
    )
    events.ticket_event(ticket=ticket, event_type="ticket.created")
    notifications.ticket_received(ticket=ticket)
    if ticket.assignee is not None:
        notifications.ticket_assigned(ticket=ticket)
    return ticket


def reopen_window() -> timedelta:
    return timedelta(days=settings.SUPPORT_REOPEN_WINDOW_DAYS)


def _apply_status(ticket: Ticket, new_status: str, *, now: datetime) -> None:
    """Move the ticket and its SLA clock (pause, resume, stop) without saving."""
    old = ticket.status
    if new_status not in TRANSITIONS[old]:
        raise InvalidTransitionError(f"A ticket cannot go from {old} to {new_status}.")
    if old == Status.SOLVED and new_status == Status.OPEN:
        if ticket.solved_at and now - ticket.solved_at > reopen_window():
            raise ReopenWindowClosedError("The reopen window for this ticket has passed.")
        ticket.reopened_count += 1
        ticket.solved_at = None
    ticket.status = new_status
    if new_status in CLOCK_STOPPED:
        sla_pause(ticket, now=now)
    elif old in CLOCK_STOPPED:
        sla_resume(ticket, now=now)
    if new_status == Status.SOLVED:
        ticket.solved_at = now
    if new_status == Status.CLOSED:
        ticket.closed_at = now


@transaction.atomic
def ticket_status_change(
    *,
    ticket: Ticket,
    status: str,
    actor: Actor | User,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Ticket:
    ticket = ticket_lock(ticket=ticket)
    old = ticket.status
    if old == status:
        return ticket
    now = timezone.now()
    _apply_status(ticket, status, now=now)
    ticket.save()
    action = (
        "ticket.reopened"
        if old == Status.SOLVED and status == Status.OPEN
        else "ticket.status_changed"
    )
    _audit(
        actor=actor,
        action=action,
        ticket=ticket,
        request=request,
        reason=reason,
        metadata={"from": old, "to": status},
    )
    event_type = "ticket.solved" if status == Status.SOLVED else action
    events.ticket_event(ticket=ticket, event_type=event_type, extra={"from": old, "to": status})
    if status == Status.SOLVED:
        from support.services.csat import csat_link

        notifications.ticket_solved(ticket=ticket, survey_url=csat_link(ticket=ticket))
    else:
        notifications.ticket_status_changed(ticket=ticket, old_status=old)
    return ticket


@transaction.atomic
def ticket_priority_change(
    *,
    ticket: Ticket,
    priority: str,
    actor: Actor | User,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Ticket:
    """Change the priority and re-target the SLA deadlines."""
    if priority not in Ticket.Priority.values:
        raise DomainError(f"Unknown priority {priority!r}.", code="invalid_priority")
    ticket = ticket_lock(ticket=ticket)
    if not ticket.is_open:
        raise TicketClosedError("Only open tickets can change priority.")
    old = ticket.priority
    if old == priority:
        return ticket
    ticket.priority = priority
    sla_recompute(ticket, now=timezone.now())
    ticket.save()
    _audit(
        actor=actor,
        action="ticket.priority_changed",
        ticket=ticket,
        request=request,
        reason=reason,
        metadata={"from": old, "to": priority},
    )
    events.ticket_event(
        ticket=ticket, event_type="ticket.priority_changed", extra={"from": old, "to": priority}
    )
    return ticket


def raised_priority(priority: str) -> str:
    index = PRIORITY_ORDER.index(Ticket.Priority(priority))
    return PRIORITY_ORDER[min(index + 1, len(PRIORITY_ORDER) - 1)].value


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    assignee: User | None,
    actor: Actor | User,
    queue: Queue | None = None,
    request: HttpRequest | None = None,
) -> Ticket:
    """Assign (or unassign) an agent of the ticket's desk (its clinic's, or the platform's),
    optionally moving queue."""
    from support.permissions import agent_can

    ticket = ticket_lock(ticket=ticket)
    if assignee is not None and not agent_can(assignee, clinic_id=ticket.clinic_id):
        raise DomainError("The assignee does not work this ticket's desk.", code="invalid_assignee")
    if queue is not None and queue.clinic_id != ticket.clinic_id:
        raise DomainError("The queue belongs to another desk.", code="invalid_queue")
    old = ticket.assignee
    ticket.assignee = assignee
    if queue is not None:
        ticket.queue = queue
    if ticket.status == Status.NEW and assignee is not None:
        _apply_status(ticket, Status.OPEN, now=timezone.now())
    ticket.save()
    _audit(
        actor=actor,
        action="ticket.assigned",
        ticket=ticket,
        request=request,
        metadata={
            "from": old.public_id if old else None,
            "to": assignee.public_id if assignee else None,
            "queue": ticket.queue.public_id if ticket.queue else None,
        },
    )
    events.ticket_event(ticket=ticket, event_type="ticket.assigned")
    if assignee is not None:
        notifications.ticket_assigned(ticket=ticket)
    return ticket
