"""Ticket notifications through engagement's ``message_send`` (email, else SMS).

Partner requesters are told through webhooks (``support.events``), not messages. The dedupe
keys make every notification idempotent, so a retried task never sends twice.
"""

from careos.actors import system_actor
from engagement.services.messages import message_send
from rbac.models import User
from support.models import Ticket, TicketComment

PURPOSE = "support"
ACTOR = system_actor("support.notifications")

# Template keys: support_ticket_update is engagement's; the others are seeded by
# support/migrations/0003_message_templates.py (en, es, fr).


def _channel(user: User) -> str | None:
    if user.email:
        return "email"
    if user.phone:
        return "sms"
    return None


def _send(
    *, user: User | None, ticket: Ticket, template_key: str, dedupe_key: str, **context: object
) -> None:
    if user is None:
        return
    channel = _channel(user)
    if channel is None:
        return
    message_send(
        channel=channel,
        recipient=user,
        purpose=PURPOSE,
        template_key=template_key,
        context={"ticket_ref": ticket.public_id, **context},
        dedupe_key=f"{ticket.public_id}:{dedupe_key}",
        actor=ACTOR,
        clinic=ticket.clinic,
    )


def ticket_received(*, ticket: Ticket) -> None:
    _send(
        user=ticket.requester,
        ticket=ticket,
        template_key="support_ticket_received",
        dedupe_key="received",
    )


def ticket_assigned(*, ticket: Ticket) -> None:
    _send(
        user=ticket.assignee,
        ticket=ticket,
        template_key="support_agent_assigned",
        dedupe_key=f"assigned:{ticket.assignee_id}:{ticket.escalation_level}",
        priority=ticket.priority,
    )


def ticket_replied(*, ticket: Ticket, comment: TicketComment) -> None:
    if comment.is_agent:
        _send(
            user=ticket.requester,
            ticket=ticket,
            template_key="support_ticket_reply",
            dedupe_key=f"reply:{comment.public_id}",
        )
    else:
        _send(
            user=ticket.assignee,
            ticket=ticket,
            template_key="support_agent_reply",
            dedupe_key=f"reply:{comment.public_id}",
        )


def ticket_status_changed(*, ticket: Ticket, old_status: str) -> None:
    _send(
        user=ticket.requester,
        ticket=ticket,
        template_key="support_ticket_update",
        dedupe_key=f"status:{old_status}:{ticket.status}:{ticket.updated_at.timestamp()}",
        status=ticket.get_status_display(),
    )


def ticket_solved(*, ticket: Ticket, survey_url: str) -> None:
    _send(
        user=ticket.requester,
        ticket=ticket,
        template_key="support_ticket_solved",
        dedupe_key=f"solved:{ticket.reopened_count}",
        survey_url=survey_url,
    )


def ticket_escalated(*, ticket: Ticket, supervisor: User | None) -> None:
    _send(
        user=supervisor,
        ticket=ticket,
        template_key="support_ticket_escalated",
        dedupe_key=f"escalated:{ticket.escalation_level}",
        priority=ticket.priority,
        level=ticket.escalation_level,
    )


def sla_warning(*, ticket: Ticket, target: str) -> None:
    _send(
        user=ticket.assignee,
        ticket=ticket,
        template_key="support_sla_warning",
        dedupe_key=f"warning:{target}:{getattr(ticket, f'{target}_warn_at').isoformat()}",
        target=target.replace("_", " "),
    )
