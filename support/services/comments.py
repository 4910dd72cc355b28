"""Comments: public replies (which move the SLA clocks) and internal notes."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careos.actors import Actor
from careos.errors import DomainError
from partners.models import Partner
from rbac.models import User
from support import events, notifications
from support.models import Ticket, TicketComment
from support.models.ticket import Status
from support.services.tickets import TicketClosedError, _apply_status, _audit, ticket_lock
from support.sla import sla_first_response_met, sla_next_response_start
from support.translation import translate_for


@transaction.atomic
def ticket_comment_add(
    *,
    ticket: Ticket,
    body: str,
    actor: Actor | User,
    author: User | None = None,
    author_partner: Partner | None = None,
    is_agent: bool = False,
    internal: bool = False,
    attachments: list[dict[str, Any]] | None = None,
    language: str | None = None,
    request: HttpRequest | None = None,
) -> TicketComment:
    """A public reply or an internal note. An agent's public reply meets the first/next
    response target and opens a new ticket; a requester's reply reopens a pending or solved
    ticket and starts the next-response clock."""
    if internal and not is_agent:
        raise DomainError("Only agents can add internal notes.", code="internal_note_forbidden")
    ticket = ticket_lock(ticket=ticket)
    if ticket.status == Status.CLOSED:
        raise TicketClosedError("The ticket is closed; open a new one.")
    now = timezone.now()
    language = language or (author.preferred_language if author and is_agent else ticket.language)
    comment = TicketComment(
        ticket=ticket,
        kind=TicketComment.Kind.INTERNAL if internal else TicketComment.Kind.PUBLIC,
        author=author,
        author_partner=author_partner,
        is_agent=is_agent,
        body=body,
        language=language,
        attachments=attachments or [],
    )
    if not internal:
        # Replies crossing languages are translated for the other side; both are kept.
        target_language = ticket.language if is_agent else _agent_language(ticket)
        if target_language and target_language != language:
            translated = translate_for(text=body, source=language, target=target_language)
            if translated is not None:
                comment.translated_body = translated
                comment.translated_language = target_language
    comment.save()
    old_status = ticket.status
    if not internal:
        if is_agent:
            sla_first_response_met(ticket, now=now)
            if ticket.status == Status.NEW:
                _apply_status(ticket, Status.OPEN, now=now)
        else:
            if ticket.status in (Status.PENDING, Status.SOLVED):
                _apply_status(ticket, Status.OPEN, now=now)
            sla_next_response_start(ticket, now=now)
    ticket.save()
    _audit(
        actor=actor,
        action="ticket.note_added" if internal else "ticket.replied",
        ticket=ticket,
        request=request,
        metadata={"comment": comment.public_id, "from": old_status, "to": ticket.status},
    )
    if not internal:
        events.ticket_event(
            ticket=ticket, event_type="ticket.commented", extra={"commentId": comment.public_id}
        )
        notifications.ticket_replied(ticket=ticket, comment=comment)
    return comment


def _agent_language(ticket: Ticket) -> str:
    return ticket.assignee.preferred_language if ticket.assignee else ""
