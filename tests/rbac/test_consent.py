from datetime import UTC, datetime

import pytest
from django.db import transaction

from careos.actors import Actor
from rbac import services
from rbac.errors import InvalidConsent, InvalidConsentTransition
from rbac.models import AuditEvent, Clinic, ConsentRecord, User
from rbac.selectors import active_consent, consents_for_patient
from rbac.signals import consent_changed

pytestmark = pytest.mark.django_db

TEXT = "I agree that BusinessOS shares my phone number with CareOS so CareOS can text me."


@pytest.fixture
def received():
    calls: list[dict] = []

    def handler(sender, **kwargs):
        calls.append(kwargs)

    consent_changed.connect(handler)
    yield calls
    consent_changed.disconnect(handler)


def record(patient: User, actor: Actor, **overrides) -> ConsentRecord:
    fields = {
        "patient": patient,
        "consent_type": ConsentRecord.Type.PARTNER_REFERRAL,
        "text": TEXT,
        "language": "en",
        "source_platform": "businessos",
        "method": "sms",
        "actor": actor,
    }
    fields.update(overrides)
    return services.consent_record(**fields)


def test_record_confirmed_writes_ledger_audit_and_signal(
    patient_a: User, actor: Actor, received, django_capture_on_commit_callbacks
):
    given = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        consent = record(patient_a, actor, given_at=given, scope={"partner": "businessos"})
    consent.refresh_from_db()
    assert consent.status == ConsentRecord.Status.CONFIRMED
    assert consent.given_at == given
    assert consent.confirmed_at is not None and consent.confirmed_by == actor.ref
    assert consent.recorded_by == actor.ref
    assert consent.text == TEXT and consent.language == "en"
    assert consent.scope == {"partner": "businessos"}
    event = AuditEvent.objects.get(action="consent.recorded")
    assert event.patient == patient_a and event.target_ref == consent.public_id
    assert event.metadata["status"] == "confirmed"
    assert TEXT not in str(event.metadata)
    assert [c["change"] for c in received] == ["recorded"]
    assert received[0]["consent"].pk == consent.pk and received[0]["actor"] == actor


def test_signal_is_sent_in_the_transaction_of_the_change(patient_a: User, actor: Actor, received):
    with pytest.raises(RuntimeError), transaction.atomic():
        record(patient_a, actor)
        assert [c["change"] for c in received] == ["recorded"]  # before any commit
        raise RuntimeError("rolled back")
    assert not ConsentRecord.objects.filter(patient=patient_a).exists()


def test_a_receiver_that_fails_undoes_the_change(patient_a: User, actor: Actor):
    def refuse(sender, **kwargs):
        raise RuntimeError("receiver failed")

    consent = record(patient_a, actor, status=ConsentRecord.Status.PENDING)
    consent_changed.connect(refuse)
    try:
        with pytest.raises(RuntimeError):
            services.consent_confirm(consent=consent, actor=actor)
    finally:
        consent_changed.disconnect(refuse)
    assert ConsentRecord.objects.get(pk=consent.pk).status == ConsentRecord.Status.PENDING
    assert not AuditEvent.objects.filter(action="consent.confirmed").exists()


def test_pending_confirm_revoke(
    patient_a: User, clinic_a: Clinic, actor: Actor, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        consent = record(
            patient_a,
            actor,
            status=ConsentRecord.Status.PENDING,
            clinic=clinic_a,
            consent_type=ConsentRecord.Type.DATA_SHARING,
        )
        assert consent.status == "pending" and consent.given_at is None
        assert active_consent(patient_a, "data_sharing") is None

        services.consent_confirm(consent=consent, actor=patient_a)
        assert consent.status == "confirmed" and consent.given_at is not None
        assert consent.confirmed_by == patient_a.public_id
        assert active_consent(patient_a, "data_sharing", clinic=clinic_a) == consent
        assert active_consent(patient_a, "data_sharing", source_platform="other") is None

        services.consent_revoke(consent=consent, actor=actor, reason="patient asked by phone")
    consent.refresh_from_db()
    assert consent.status == "revoked" and consent.revoked_at is not None
    assert consent.revocation_reason == "patient asked by phone"
    assert active_consent(patient_a, "data_sharing") is None
    # Revocation never deletes: the ledger still holds it.
    assert list(consents_for_patient(patient_a)) == [consent]
    actions = list(
        AuditEvent.objects.filter(patient=patient_a, target_type="consent")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["consent.recorded", "consent.confirmed", "consent.revoked"]
    assert AuditEvent.objects.get(action="consent.revoked").reason == "patient asked by phone"
    assert [c["change"] for c in received] == ["recorded", "confirmed", "revoked"]


def test_pending_can_be_revoked_directly(patient_a: User, actor: Actor):
    consent = record(patient_a, actor, status=ConsentRecord.Status.PENDING)
    services.consent_revoke(consent=consent, actor=actor, reason="declined")
    assert ConsentRecord.objects.get(pk=consent.pk).status == "revoked"


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ("confirmed", "confirm"),
        ("revoked", "confirm"),
        ("revoked", "revoke"),
    ],
)
def test_refused_transitions(patient_a: User, actor: Actor, setup: str, action: str):
    consent = record(patient_a, actor)
    if setup == "revoked":
        services.consent_revoke(consent=consent, actor=actor, reason="first")
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidConsentTransition) as exc_info:
        if action == "confirm":
            services.consent_confirm(consent=consent, actor=actor)
        else:
            services.consent_revoke(consent=consent, actor=actor, reason="again")
    assert exc_info.value.code == "invalid_consent_transition"
    assert exc_info.value.status == 409
    assert AuditEvent.objects.count() == before
    assert ConsentRecord.objects.get(pk=consent.pk).status == setup


def test_stale_instance_cannot_bypass_transition(patient_a: User, actor: Actor):
    consent = record(patient_a, actor)
    stale = ConsentRecord.objects.get(pk=consent.pk)
    services.consent_revoke(consent=consent, actor=actor, reason="first")
    with pytest.raises(InvalidConsentTransition):
        services.consent_revoke(consent=stale, actor=actor, reason="second")
    assert ConsentRecord.objects.get(pk=consent.pk).revocation_reason == "first"


@pytest.mark.parametrize(
    "overrides",
    [
        {"consent_type": "telepathy"},
        {"status": "revoked"},
        {"text": "   "},
        {"language": ""},
    ],
)
def test_invalid_consent_is_refused(patient_a: User, actor: Actor, overrides: dict):
    with pytest.raises(InvalidConsent) as exc_info:
        record(patient_a, actor, **overrides)
    assert exc_info.value.status == 400
    assert not ConsentRecord.objects.exists()
