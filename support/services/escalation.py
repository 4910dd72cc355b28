"""Escalation by the requester ("talk to a human"), by an agent to a supervisor, or automatic
(SLA breach): escalation queue, supervisor, audit, ``ticket.escalated``."""

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careos.actors import Actor
from rbac.models import User
from support import events, notifications
from support.models import Ticket
from support.models.ticket import Status
from support.selectors import escalation_queue_for, supervisor_for
from support.services.tickets import (
    TicketClosedError,
    _apply_status,
    _audit,
    raised_priority,
    ticket_lock,
)
from support.sla import sla_recompute


class EscalationKind(models.TextChoices):
    REQUESTER = "requester", _("Requester asked for a human")
    AGENT = "agent", _("Agent escalated to a supervisor")
    AUTOMATIC = "automatic", _("Automatic (SLA breach)")


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    actor: Actor | User,
    reason: str,
    kind: str,
    raise_priority: bool = False,
    request: HttpRequest | None = None,
) -> Ticket:
    ticket = ticket_lock(ticket=ticket)
    if not ticket.is_open:
        raise TicketClosedError("Solved and closed tickets cannot be escalated.")
    now = timezone.now()
    old_priority = ticket.priority
    old_queue = ticket.queue
    target_queue = escalation_queue_for(ticket=ticket)
    supervisor = supervisor_for(ticket=ticket, now=now)
    if target_queue is not None:
        ticket.queue = target_queue
    if supervisor is not None:
        ticket.assignee = supervisor
    if raise_priority:
        ticket.priority = raised_priority(ticket.priority)
    ticket.escalation_level += 1
    ticket.escalated_at = now
    if ticket.status == Status.PENDING and kind == EscalationKind.REQUESTER:
        _apply_status(ticket, Status.OPEN, now=now)
    if ticket.priority != old_priority:
        sla_recompute(ticket, now=now)
    ticket.save()
    metadata = {
        "kind": kind,
        "level": ticket.escalation_level,
        "fromQueue": old_queue.public_id if old_queue else None,
        "toQueue": ticket.queue.public_id if ticket.queue else None,
        "supervisor": supervisor.public_id if supervisor else None,
        "fromPriority": old_priority,
        "toPriority": ticket.priority,
    }
    _audit(
        actor=actor,
        action="ticket.escalated",
        ticket=ticket,
        request=request,
        reason=reason,
        metadata=metadata,
    )
    events.ticket_event(
        ticket=ticket,
        event_type="ticket.escalated",
        extra={"kind": kind, "level": ticket.escalation_level, "reason": reason},
    )
    notifications.ticket_escalated(ticket=ticket, supervisor=supervisor)
    return ticket
