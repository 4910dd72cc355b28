"""Reads shared by the API, admin, services and tasks. Tenancy is applied here."""

from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet

from careos.errors import NotFoundError
from partners.models import Partner
from rbac.models import Clinic, User
from rbac.selectors import memberships_for_user
from support.businesstime import is_open_at
from support.models import AgentProfile, CsatResponse, Queue, Ticket
from support.models.ticket import RUNNING_STATUSES, Status
from support.permissions import Desks, agent_desks
from support.schedules import agent_schedule

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "clinic", "queue", "assignee", "requester", "requester_partner", "sla_policy__calendar"
    )


def tickets_for_requester(
    *, user: User | None = None, partner: Partner | None = None
) -> QuerySet[Ticket]:
    if partner is not None:
        return _tickets().filter(requester_partner=partner)
    if user is not None and user.is_authenticated:
        return _tickets().filter(requester=user, requester_partner__isnull=True)
    return Ticket.objects.none()


def tickets_for_agent(*, user: User) -> QuerySet[Ticket]:
    """Every ticket of the desks the user works: clinics, and the platform's for CareOS staff."""
    return _tickets().filter(agent_desks(user).q())


def queue_route(*, clinic: Clinic | None, language: str, region: str) -> Queue | None:
    """The best queue of the clinic's desk (``None``: the platform's): language and region both
    match, then language, then region, then any."""
    candidates = Queue.objects.filter(clinic=clinic, is_active=True, is_escalation=False).filter(
        Q(language=language) | Q(language=""), Q(region=region) | Q(region="")
    )
    ranked = sorted(
        candidates,
        key=lambda q: (-(2 * bool(q.language) + bool(q.region)), q.pk),
    )
    return ranked[0] if ranked else None


def escalation_queue_for(*, ticket: Ticket) -> Queue | None:
    if ticket.queue is not None and ticket.queue.escalation_queue_id:
        return ticket.queue.escalation_queue
    return Queue.objects.filter(clinic_id=ticket.clinic_id, is_escalation=True).first()


def available_agents(
    *, clinic: Clinic | None, language: str, now: datetime, supervisors_only: bool = False
) -> list[AgentProfile]:
    """Agents of the clinic's desk (``None``: the platform's) working now (per their published
    hours) who speak ``language``, least loaded first."""
    agents = (
        AgentProfile.objects.filter(clinic=clinic, is_active=True, user__is_active=True)
        .select_related("user")
        .prefetch_related("hours")
        .annotate(
            open_count=Count(
                "user__assigned_tickets",
                filter=Q(
                    user__assigned_tickets__clinic=clinic,
                    user__assigned_tickets__status__in=OPEN_STATUSES,
                ),
            )
        )
    )
    if supervisors_only:
        agents = agents.filter(is_supervisor=True)
    working = [
        a
        for a in agents
        if (not language or language in (a.languages or [])) and is_open_at(agent_schedule(a), now)
    ]
    return sorted(working, key=lambda a: (a.open_count, a.pk))


def supervisor_for(*, ticket: Ticket, now: datetime) -> User | None:
    """The queue's supervisor, else an available clinic supervisor, else any clinic supervisor."""
    queue = ticket.queue
    if queue is not None and queue.supervisor_id:
        return queue.supervisor
    available = available_agents(clinic=ticket.clinic, language="", now=now, supervisors_only=True)
    if available:
        return available[0].user
    fallback = (
        AgentProfile.objects.filter(clinic_id=ticket.clinic_id, is_supervisor=True, is_active=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return fallback.user if fallback else None


def csat_report(*, desks: Desks | None = None) -> dict[str, list[dict[str, Any]]]:
    """Average rating and number of responses per clinic (the platform's desk: id and name
    empty), queue and agent; of ``desks`` only, when given."""
    rows = CsatResponse.objects.all()
    if desks is not None:
        rows = rows.filter(desks.q())

    def group(relation: str, name: str) -> list[dict[str, Any]]:
        grouped = (
            rows.values(f"{relation}__public_id", f"{relation}__{name}")
            .annotate(average=Avg("rating"), responses=Count("pk"))
            .order_by(f"{relation}__public_id")
        )
        return [
            {
                "id": row[f"{relation}__public_id"],
                "name": row[f"{relation}__{name}"],
                "average": round(float(row["average"]), 2),
                "responses": row["responses"],
            }
            for row in grouped
        ]

    return {
        "clinics": group("clinic", "name"),
        "queues": group("queue", "name"),
        "agents": group("agent", "username"),
    }


def ticket_reload(*, ticket: Ticket) -> Ticket:
    return _tickets().get(pk=ticket.pk)


def filter_sla_state(qs: QuerySet[Ticket], state: str, *, now: datetime) -> QuerySet[Ticket]:
    """``breached``: any target breached (flagged, or overdue and running); ``warning``: past a
    warning instant but not breached; ``ok``: neither."""
    running = Q(status__in=RUNNING_STATUSES)
    breached = (
        Q(first_response_breached_at__isnull=False)
        | Q(next_response_breached_at__isnull=False)
        | Q(resolution_breached_at__isnull=False)
        | (running & Q(first_responded_at__isnull=True, first_response_due_at__lte=now))
        | (running & Q(next_response_due_at__lte=now))
        | (running & Q(resolution_due_at__lte=now))
    )
    warning = (
        Q(first_response_warned_at__isnull=False)
        | Q(next_response_warned_at__isnull=False)
        | Q(resolution_warned_at__isnull=False)
        | (running & Q(first_responded_at__isnull=True, first_response_warn_at__lte=now))
        | (running & Q(next_response_warn_at__lte=now))
        | (running & Q(resolution_warn_at__lte=now))
    )
    if state == "breached":
        return qs.filter(breached)
    if state == "warning":
        return qs.filter(warning).exclude(breached)
    if state == "ok":
        return qs.exclude(breached).exclude(warning)
    return qs


def ticket_for_user(*, user: User, public_id: str) -> tuple[Ticket, bool]:
    """A ticket the user requested or works on; ``(ticket, as_agent)``. Raises NotFoundError for
    anything else (another clinic's ticket, or a partner's to the platform for anyone but
    CareOS staff, is 404, not 403)."""
    desks = agent_desks(user)
    ticket = _tickets().filter(Q(requester=user) | desks.q(), public_id=public_id).first()
    if ticket is None:
        raise NotFoundError("No such ticket.")
    return ticket, desks.covers(ticket.clinic_id)


def ticket_for_partner(*, partner: Partner, public_id: str) -> Ticket:
    ticket = tickets_for_requester(partner=partner).filter(public_id=public_id).first()
    if ticket is None:
        raise NotFoundError("No such ticket.")
    return ticket


def queues_for_agent(*, user: User) -> QuerySet[Queue]:
    return (
        Queue.objects.filter(agent_desks(user).q(), is_active=True)
        .select_related("clinic")
        .annotate(open_tickets=Count("tickets", filter=Q(tickets__status__in=OPEN_STATUSES)))
        .order_by("clinic_id", "name")
    )


def published_agents(*, user: User) -> QuerySet[AgentProfile]:
    """Agents (with their published hours) of the clinics where ``user`` is a member."""
    clinic_ids = memberships_for_user(user).filter(is_active=True).values("clinic_id")
    return (
        AgentProfile.objects.filter(clinic_id__in=clinic_ids, is_active=True)
        .select_related("user", "clinic")
        .prefetch_related("hours")
        .order_by("clinic_id", "pk")
    )
