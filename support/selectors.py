"""Reads shared by the API, admin, services and tasks. Tenancy is applied here."""

from datetime import datetime

from django.db.models import Avg, Count, Q, QuerySet

from partners.models import Partner
from rbac.models import Clinic, User
from support.businesstime import is_open_at
from support.models import AgentProfile, CsatResponse, Queue, Ticket
from support.models.ticket import Status
from support.permissions import agent_clinic_ids
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
    """Every ticket of the clinics where the user works tickets."""
    return _tickets().filter(clinic_id__in=agent_clinic_ids(user))


def queue_route(*, clinic: Clinic, language: str, region: str) -> Queue | None:
    """The best queue: language and region both match, then language, then region, then any."""
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
    *, clinic: Clinic, language: str, now: datetime, supervisors_only: bool = False
) -> list[AgentProfile]:
    """Agents working now (per their published hours) who speak ``language``, least loaded first."""
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


def csat_averages(*, clinic_ids: set[int] | None = None) -> dict[str, list[dict]]:
    """Average rating and count per clinic, queue and agent."""
    rows = CsatResponse.objects.all()
    if clinic_ids is not None:
        rows = rows.filter(clinic_id__in=clinic_ids)

    def group(*fields: str) -> list[dict]:
        return list(
            rows.values(*fields)
            .annotate(average=Avg("rating"), responses=Count("pk"))
            .order_by(*fields)
        )

    return {
        "clinics": group("clinic__public_id", "clinic__name"),
        "queues": group("queue__public_id", "queue__name"),
        "agents": group("agent__public_id", "agent__username"),
    }
