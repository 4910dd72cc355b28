"""Domain events of tickets, through the partners event outbox (webhooks for partner tickets).

Payloads carry ids and states, never PHI (no subject, description or comment text).
"""

from typing import Any

from partners.services.events import publish_event

from support.models import Ticket

EVENT_TYPES = {
    "ticket.created": "A support ticket was created.",
    "ticket.status_changed": "A support ticket changed status.",
    "ticket.reopened": "A solved support ticket was reopened.",
    "ticket.solved": "A support ticket was solved.",
    "ticket.commented": "A public reply was added to a support ticket.",
    "ticket.priority_changed": "A support ticket's priority changed.",
    "ticket.assigned": "A support ticket was assigned.",
    "ticket.escalated": "A support ticket was escalated.",
    "ticket.sla_breached": "A support ticket breached an SLA target.",
}


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.public_id,
        "clinicId": ticket.clinic.public_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "queueId": ticket.queue.public_id if ticket.queue else None,
        "assigneeId": ticket.assignee.public_id if ticket.assignee else None,
        "escalationLevel": ticket.escalation_level,
    }


def ticket_event(*, ticket: Ticket, event_type: str, extra: dict[str, Any] | None = None) -> None:
    """Record the event in the caller's transaction; partner tickets are delivered to the
    partner's webhooks, the others are kept as platform events."""
    publish_event(
        event_type=event_type,
        owner=ticket.requester_partner,
        payload={**ticket_payload(ticket), **(extra or {})},
    )
