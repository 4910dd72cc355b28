"""Domain events of tickets, through the partners event outbox (webhooks for partner tickets).

Payloads carry ids and states, never PHI (no subject, description or comment text).
"""

from typing import Any

from partners.services.events import publish_event
from support.models import Ticket

# Our actions → the platform event catalog (partners/migrations/0003_seed_event_types.py).
CATALOG = {
    "ticket.created": "ticket.created",
    "ticket.escalated": "ticket.escalated",
    "ticket.sla_breached": "ticket.sla_breached",
    "ticket.solved": "ticket.resolved",
}
UPDATED = "ticket.updated"  # every other change, with ``change`` naming it


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticketId": ticket.public_id,
        "clinicId": ticket.clinic.public_id if ticket.clinic else None,
        "status": ticket.status,
        "priority": ticket.priority,
        "queueId": ticket.queue.public_id if ticket.queue else None,
        "assigneeId": ticket.assignee.public_id if ticket.assignee else None,
        "escalationLevel": ticket.escalation_level,
    }


def ticket_event(*, ticket: Ticket, event_type: str, extra: dict[str, Any] | None = None) -> None:
    """Record the event in the caller's transaction; partner tickets are delivered to the
    partner's webhooks, the others are kept as platform events."""
    catalog_type = CATALOG.get(event_type, UPDATED)
    payload = {**ticket_payload(ticket), **(extra or {})}
    if catalog_type == UPDATED:
        payload["change"] = event_type.removeprefix("ticket.")
    publish_event(event_type=catalog_type, owner=ticket.requester_partner, payload=payload)
