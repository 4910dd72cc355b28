"""CSAT: a signed survey link on solve; one rating (1-5) and comment per ticket."""

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from careos.actors import Actor
from careos.errors import ConflictError, DomainError, NotFoundError
from rbac.models import User
from support.models import CsatResponse, Ticket
from support.models.ticket import Status
from support.services.tickets import _audit

SALT = "support.csat"


class AlreadyRatedError(ConflictError):
    code = "already_rated"


def csat_token(*, ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.public_id}, salt=SALT, compress=True)


def csat_link(*, ticket: Ticket) -> str:
    return f"{settings.SUPPORT_CSAT_URL}{csat_token(ticket=ticket)}"


def csat_ticket_from_token(*, token: str) -> Ticket:
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.SUPPORT_CSAT_MAX_AGE_DAYS * 86400)
    except signing.SignatureExpired as exc:
        raise DomainError("This survey link has expired.", code="survey_expired") from exc
    except signing.BadSignature as exc:
        raise NotFoundError("Unknown survey link.") from exc
    ticket = Ticket.objects.filter(public_id=data.get("t")).select_related("clinic").first()
    if ticket is None:
        raise NotFoundError("Unknown survey link.")
    return ticket


@transaction.atomic
def ticket_rate(
    *,
    ticket: Ticket,
    rating: int,
    comment: str = "",
    actor: Actor | User,
    request: HttpRequest | None = None,
) -> CsatResponse:
    """Record the requester's rating; a second rating of the same ticket is refused."""
    if not 1 <= rating <= 5:
        raise DomainError("The rating must be between 1 and 5.", code="invalid_rating")
    if ticket.status not in (Status.SOLVED, Status.CLOSED):
        raise ConflictError("Only solved tickets can be rated.", code="ticket_not_solved")
    try:
        with transaction.atomic():
            response = CsatResponse.objects.create(
                ticket=ticket,
                rating=rating,
                comment=comment,
                clinic_id=ticket.clinic_id,
                queue_id=ticket.queue_id,
                agent_id=ticket.assignee_id,
            )
    except IntegrityError as exc:
        raise AlreadyRatedError("This ticket has already been rated.") from exc
    _audit(
        actor=actor,
        action="ticket.rated",
        ticket=ticket,
        request=request,
        metadata={"rating": rating},
    )
    return response
