import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from careos.actors import Actor
from rbac import services
from rbac.models import AuditEvent, Clinic, User
from rbac.selectors import audit_events_for_patient
from tests.dbroles import execute_as_owner
from tests.infra import require_postgresql

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(patient_a: User, clinic_a: Clinic, actor: Actor) -> AuditEvent:
    return services.audit_record(
        actor=actor,
        action="patient.viewed",
        target_type="user",
        target_ref=patient_a.public_id,
        patient=patient_a,
        clinic=clinic_a,
        reason="support call",
    )


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_orm_refuses_update_and_delete(event: AuditEvent):
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.action = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "patient.viewed"


# The app's own connection: refused by the database trigger (PostgreSQL plpgsql, SQLite
# RAISE(ABORT)) or, on PostgreSQL with the app role (tests/dbroles.py), by its privileges.
REFUSED = "append-only|permission denied for table rbac_auditevent"


def test_raw_sql_update_and_delete_fail(event: AuditEvent):
    """Refused below the ORM."""
    assert connection.vendor in ("postgresql", "sqlite")
    with pytest.raises(DatabaseError, match=REFUSED):
        raw("UPDATE rbac_auditevent SET action = %s WHERE id = %s", ["tampered", event.pk])
    with pytest.raises(DatabaseError, match=REFUSED):
        raw("DELETE FROM rbac_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "patient.viewed"


@pytest.mark.django_db(transaction=True)
def test_postgres_triggers_refuse_update_delete_truncate_to_the_owner(actor: Actor):
    """The role that owns the table (which the app's role is not, tests/test_db_roles.py) is
    refused too, by the triggers, unless it lifts them (``audit_verify`` then notices)."""
    require_postgresql()  # skips locally on SQLite, fails with CI=true
    event = services.audit_record(actor=actor, action="test.committed")
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        execute_as_owner("UPDATE rbac_auditevent SET reason = %s", [""])
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        execute_as_owner("DELETE FROM rbac_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        execute_as_owner("TRUNCATE rbac_auditevent CASCADE")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_flush_refused_unless_allowed(event: AuditEvent, settings):
    settings.RBAC_AUDIT_FLUSH_ALLOWED = False
    with pytest.raises(CommandError, match="append-only"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_flush_allowed_on_disposable_db_keeps_triggers(actor: Actor):
    """Transactional tests flush after each test: the triggers come back after a flush, and the
    role templates too (post_migrate)."""
    services.audit_record(actor=actor, action="test.before_flush")
    # As TransactionTestCase flushes: sequences kept. A reset would hand out ids again that the
    # next transactional test's serialized rollback restores (the platform's seeded rows).
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    assert not AuditEvent.objects.filter(action="test.before_flush").exists()
    event = services.audit_record(actor=actor, action="test.after_flush")
    with pytest.raises(DatabaseError, match="append-only"):
        execute_as_owner("UPDATE rbac_auditevent SET action = %s WHERE id = %s", ["x", event.pk])
    clinic = services.clinic_create(
        name="After flush",
        slug="after-flush",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=actor,
    )
    assert clinic.roles.count() == 6


def test_audit_events_for_patient(event: AuditEvent, patient_a: User, patient_b: User):
    events = list(audit_events_for_patient(patient_a))
    assert events[0] == event
    assert [e.action for e in events] == ["patient.viewed", "membership.granted"]
    assert all(e.patient_id == patient_a.pk for e in events)
    assert not audit_events_for_patient(patient_b).filter(action="patient.viewed").exists()


def test_audit_record_for_user_actor_and_request(patient_a: User, agent_a: User):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_USER_AGENT="pytest/1")
    event = services.audit_record(
        actor=agent_a, action="patient.viewed", patient=patient_a, request=request
    )
    event.refresh_from_db()
    assert (event.actor_kind, event.actor_ref, event.actor_user) == (
        "user",
        agent_a.public_id,
        agent_a,
    )
    assert event.ip_address == "10.0.0.5" and event.user_agent == "pytest/1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.5"),  # header ignored unless proxies are trusted
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # client forged the left entry
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (3, "203.0.113.9", "10.0.0.5"),  # fewer entries than proxies: not trustworthy
        (1, "not-an-ip", "10.0.0.5"),
    ],
)
def test_client_ip_trusts_forwarded_for_only_behind_proxies(settings, proxies, forwarded, expected):
    settings.RBAC_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)
    assert services.client_ip(request) == expected
