"""Support fixtures: a New York clinic with a business calendar, SLA policy, queues, agents."""

from collections.abc import Callable, Iterator
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from careos.actors import Actor, system_actor
from rbac import services as rbac_services
from rbac.models import Clinic, Role, User
from support.models import (
    AgentProfile,
    AgentWorkingHours,
    BusinessCalendar,
    BusinessHours,
    Queue,
    SlaPolicy,
    SlaTarget,
)

NY = ZoneInfo("America/New_York")
# Business minutes per priority: (first response, next response, resolution).
TARGETS = {
    "low": (240, 480, 2400),
    "normal": (60, 120, 480),
    "high": (30, 60, 240),
    "urgent": (15, 30, 120),
}


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def frozen() -> Iterator[Callable[[datetime], None]]:
    """``frozen(when)`` moves the frozen clock; starts Monday 2026-03-02 10:00 New York."""
    traveller = time_machine.travel(ny(2026, 3, 2, 10, 0), tick=False)
    machine = traveller.start()
    yield machine.move_to
    traveller.stop()


@pytest.fixture
def actor() -> Actor:
    return system_actor("tests")


def make_clinic(slug: str, actor: Actor, tz: str = "America/New_York") -> Clinic:
    clinic = rbac_services.clinic_create(
        name=slug.title(),
        slug=slug,
        timezone=tz,
        languages=["en", "es"],
        regions=["NY"],
        actor=actor,
    )
    calendar = BusinessCalendar.objects.create(
        clinic=clinic, name="Office", timezone=tz, holiday_country="US"
    )
    for day in range(5):
        BusinessHours.objects.create(calendar=calendar, weekday=day, opens=time(9), closes=time(17))
    policy = SlaPolicy.objects.create(clinic=clinic, name="Default", calendar=calendar)
    for priority, (first, nxt, resolution) in TARGETS.items():
        SlaTarget.objects.create(
            policy=policy,
            priority=priority,
            first_response_minutes=first,
            next_response_minutes=nxt,
            resolution_minutes=resolution,
        )
    Queue.objects.create(clinic=clinic, name="General")
    Queue.objects.create(clinic=clinic, name="Spanish", language="es")
    Queue.objects.create(clinic=clinic, name="New York English", language="en", region="NY")
    Queue.objects.create(clinic=clinic, name="Escalations", is_escalation=True)
    return clinic


@pytest.fixture
def clinic(db, actor: Actor) -> Clinic:
    return make_clinic("clinic-a", actor)


@pytest.fixture
def other_clinic(db, actor: Actor) -> Clinic:
    return make_clinic("clinic-b", actor)


def queue(clinic: Clinic, name: str) -> Queue:
    return Queue.objects.get(clinic=clinic, name=name)


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(kind: str = User.Kind.STAFF, **fields: object) -> User:
        n = next(counter)
        fields.setdefault("username", f"{kind}{n}")
        fields.setdefault("email", f"{kind}{n}@example.com")
        return User.objects.create_user(kind=kind, password="pw-not-used-123", **fields)

    return make


def grant(user: User, clinic: Clinic, slug: str, actor: Actor) -> None:
    rbac_services.membership_grant(
        user=user, clinic=clinic, role=Role.objects.get(clinic=clinic, slug=slug), actor=actor
    )


@pytest.fixture
def make_agent(make_user, actor: Actor) -> Callable[..., User]:
    """An agent with published hours (weekday, start hour, end hour) in New York time."""

    def make(
        clinic: Clinic,
        *,
        languages: tuple[str, ...] = ("en",),
        hours: tuple[tuple[int, int, int], ...] = tuple((d, 9, 17) for d in range(5)),
        supervisor: bool = False,
    ) -> User:
        user = make_user(User.Kind.STAFF, preferred_language=languages[0])
        grant(user, clinic, "supervisor" if supervisor else "support_agent", actor)
        profile = AgentProfile.objects.create(
            user=user,
            clinic=clinic,
            languages=list(languages),
            timezone="America/New_York",
            is_supervisor=supervisor,
        )
        for weekday, start, end in hours:
            AgentWorkingHours.objects.create(
                agent=profile, weekday=weekday, starts=time(start), ends=time(end % 24)
            )
        return user

    return make


@pytest.fixture
def patient(make_user, clinic: Clinic, actor: Actor) -> User:
    user = make_user(User.Kind.PATIENT, region="NY")
    grant(user, clinic, "patient", actor)
    return user


@pytest.fixture
def new_ticket(patient: User, clinic: Clinic, actor: Actor):
    from support.services.tickets import TicketInput, ticket_create

    def make(**fields: object):
        requester = fields.pop("requester", patient)
        data = TicketInput(
            clinic=fields.pop("clinic", clinic),
            subject=fields.pop("subject", "My bill is wrong"),
            description=fields.pop("description", "I was charged twice."),
            **fields,
        )
        ticket = ticket_create(data=data, actor=actor, requester=requester)
        return ticket

    return make
