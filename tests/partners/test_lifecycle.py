"""Partner lifecycle services, contacts, agreements and statistics."""

from datetime import date

import pytest
from django.db import IntegrityError

from careos.actors import system_actor
from careos.errors import ConflictError, DomainError
from partners.models import ApiKey, Partner, PartnerAgreement
from partners.services import lifecycle, profile
from rbac.models import AuditEvent
from tests.partners.factories import PartnerFactory, make_api_key

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")


def test_create_then_activate_suspend_reactivate_terminate():
    partner = lifecycle.partner_create(
        name="Acme", slug="acme", partner_type=Partner.Type.TECHNOLOGY_APP, actor=ACTOR
    )
    assert partner.status == Partner.Status.PENDING
    partner = lifecycle.partner_activate(partner=partner, actor=ACTOR)
    assert partner.status == Partner.Status.ACTIVE
    partner = lifecycle.partner_suspend(partner=partner, reason="unpaid invoices", actor=ACTOR)
    assert (partner.status, partner.status_reason) == (Partner.Status.SUSPENDED, "unpaid invoices")
    partner = lifecycle.partner_reactivate(partner=partner, actor=ACTOR)
    assert partner.status == Partner.Status.ACTIVE
    issued = make_api_key(partner=partner)
    partner = lifecycle.partner_terminate(partner=partner, reason="contract ended", actor=ACTOR)
    assert partner.status == Partner.Status.TERMINATED
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None
    actions = list(
        AuditEvent.objects.filter(target_ref=partner.public_id)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "partner.created",
        "partner.activated",
        "partner.suspended",
        "partner.reactivated",
        "partner.terminated",
    ]


@pytest.mark.parametrize(
    ("status", "service"),
    [
        (Partner.Status.ACTIVE, "partner_activate"),
        (Partner.Status.SUSPENDED, "partner_activate"),
        (Partner.Status.PENDING, "partner_reactivate"),
        (Partner.Status.ACTIVE, "partner_reactivate"),
        (Partner.Status.TERMINATED, "partner_reactivate"),
        (Partner.Status.PENDING, "partner_suspend"),
        (Partner.Status.TERMINATED, "partner_suspend"),
        (Partner.Status.TERMINATED, "partner_terminate"),
    ],
)
def test_refused_transitions(status, service):
    partner = PartnerFactory(status=status)
    kwargs = {"reason": "x"} if service in ("partner_suspend", "partner_terminate") else {}
    with pytest.raises(ConflictError) as caught:
        getattr(lifecycle, service)(partner=partner, actor=ACTOR, **kwargs)
    assert caught.value.code == "invalid_transition"
    partner.refresh_from_db()
    assert partner.status == status


def test_suspend_needs_a_reason():
    with pytest.raises(DomainError) as caught:
        lifecycle.partner_suspend(partner=PartnerFactory(), reason=" ", actor=ACTOR)
    assert caught.value.code == "reason_required"


def test_duplicate_slug_is_refused():
    PartnerFactory(slug="taken")
    with pytest.raises(ConflictError):
        lifecycle.partner_create(
            name="X", slug="taken", partner_type=Partner.Type.CLINIC_VENDOR, actor=ACTOR
        )


def test_update_changes_only_allowed_fields():
    partner = PartnerFactory()
    lifecycle.partner_update(partner=partner, actor=ACTOR, tier="enterprise", name="New")
    partner.refresh_from_db()
    assert (partner.tier, partner.name) == ("enterprise", "New")
    with pytest.raises(DomainError):
        lifecycle.partner_update(partner=partner, actor=ACTOR, status="active")


def test_agreement_terms_and_statistics():
    partner = PartnerFactory()
    profile.contact_create(partner=partner, name="Ann", email="ann@example.com", actor=ACTOR)
    agreement = profile.agreement_create(
        partner=partner,
        version="2026-01",
        effective_from=date(2026, 1, 1),
        referral_fee_minor=2500,
        currency="eur",
        revenue_share_bps=1500,
        signed_by="Ann",
        actor=ACTOR,
    )
    assert (agreement.currency, agreement.referral_fee_minor) == ("EUR", 2500)
    make_api_key(partner=partner)
    stats = lifecycle.partner_statistics(partner=partner)
    assert stats.contacts == 1
    assert stats.active_api_keys == 1
    assert stats.current_agreement_version == "2026-01"
    with pytest.raises(ConflictError):
        profile.agreement_create(
            partner=partner, version="2026-01", effective_from=date(2026, 2, 1), actor=ACTOR
        )
    with pytest.raises(DomainError):
        profile.agreement_create(
            partner=partner,
            version="bad",
            effective_from=date(2026, 2, 1),
            revenue_share_bps=10_001,
            actor=ACTOR,
        )


def test_database_refuses_revenue_share_over_100_percent():
    with pytest.raises(IntegrityError):
        PartnerAgreement.objects.create(
            partner=PartnerFactory(),
            version="1",
            effective_from=date(2026, 1, 1),
            revenue_share_bps=20_000,
        )
