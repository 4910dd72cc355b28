import pytest

from careos.actors import Actor, system_actor
from rbac import services
from rbac.models import Clinic, Role, User


@pytest.fixture
def actor() -> Actor:
    return system_actor("tests")


@pytest.fixture
def clinic_a(db, actor: Actor) -> Clinic:
    return services.clinic_create(
        name="Clinic A",
        slug="clinic-a",
        timezone="America/New_York",
        languages=["en", "es"],
        regions=["NY"],
        actor=actor,
    )


@pytest.fixture
def clinic_b(db, actor: Actor) -> Clinic:
    return services.clinic_create(
        name="Clinic B",
        slug="clinic-b",
        timezone="Europe/Paris",
        languages=["fr"],
        regions=["IDF"],
        actor=actor,
    )


def role(clinic: Clinic, slug: str) -> Role:
    return Role.objects.get(clinic=clinic, slug=slug)


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(kind: str = User.Kind.STAFF, **fields) -> User:
        n = next(counter)
        fields.setdefault("username", f"{kind}{n}")
        return User.objects.create_user(kind=kind, password=None, **fields)

    return make


@pytest.fixture
def patient_a(make_user, clinic_a: Clinic, actor: Actor) -> User:
    patient = make_user(User.Kind.PATIENT, phone="+12125550101", email="Pat@Example.com")
    services.membership_grant(
        user=patient, clinic=clinic_a, role=role(clinic_a, "patient"), actor=actor
    )
    return patient


@pytest.fixture
def patient_b(make_user, clinic_b: Clinic, actor: Actor) -> User:
    patient = make_user(User.Kind.PATIENT, phone="+33612345678")
    services.membership_grant(
        user=patient, clinic=clinic_b, role=role(clinic_b, "patient"), actor=actor
    )
    return patient


@pytest.fixture
def agent_a(make_user, clinic_a: Clinic, actor: Actor) -> User:
    agent = make_user(User.Kind.STAFF)
    services.membership_grant(
        user=agent, clinic=clinic_a, role=role(clinic_a, "support_agent"), actor=actor
    )
    return agent
