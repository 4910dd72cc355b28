"""Partner lifecycle: create, update, activate, suspend, reactivate, terminate; statistics."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from partners.models import (
    ApiKey,
    Partner,
    PartnerAgreement,
    PartnerApplication,
    PartnerContact,
    PartnerOAuthClient,
    PartnerUsageDaily,
)
from rbac.models import User
from rbac.services import audit_record

UPDATABLE_FIELDS = (
    "name",
    "partner_type",
    "tier",
    "website",
    "description",
    "rate_limit_per_minute",
)


class InvalidPartnerTransition(ConflictError):
    code = "invalid_transition"


def _audit(*, actor: Actor | User, action: str, partner: Partner, **kwargs: Any) -> None:
    audit_record(
        actor=actor, action=action, target_type="partner", target_ref=partner.public_id, **kwargs
    )


@transaction.atomic
def partner_create(
    *,
    name: str,
    slug: str,
    partner_type: str,
    tier: str = Partner.Tier.BASIC,
    website: str = "",
    description: str = "",
    actor: Actor | User,
) -> Partner:
    if Partner.objects.filter(slug=slug).exists():
        raise ConflictError(f"The slug {slug!r} is taken.", code="slug_taken")
    partner = Partner.objects.create(
        name=name,
        slug=slug,
        partner_type=partner_type,
        tier=tier,
        website=website,
        description=description,
    )
    _audit(actor=actor, action="partner.created", partner=partner)
    return partner


@transaction.atomic
def partner_update(*, partner: Partner, actor: Actor | User, **changes: Any) -> Partner:
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(f"Not updatable: {', '.join(sorted(unknown))}.")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    changed = {k: v for k, v in changes.items() if getattr(partner, k) != v}
    for field, value in changed.items():
        setattr(partner, field, value)
    if changed:
        partner.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor=actor,
            action="partner.updated",
            partner=partner,
            metadata={"fields": sorted(changed)},
        )
    return partner


def _transition(
    *,
    partner: Partner,
    to: str,
    allowed_from: tuple[str, ...],
    actor: Actor | User,
    action: str,
    reason: str = "",
) -> Partner:
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.status not in allowed_from:
        raise InvalidPartnerTransition(
            f"A {partner.status} partner cannot become {to}.",
            extra={"currentStatus": partner.status},
        )
    partner.status = to
    partner.status_reason = reason
    partner.status_changed_at = timezone.now()
    partner.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    _audit(actor=actor, action=action, partner=partner, reason=reason)
    return partner


@transaction.atomic
def partner_activate(*, partner: Partner, actor: Actor | User) -> Partner:
    return _transition(
        partner=partner,
        to=Partner.Status.ACTIVE,
        allowed_from=(Partner.Status.PENDING,),
        actor=actor,
        action="partner.activated",
    )


@transaction.atomic
def partner_suspend(*, partner: Partner, reason: str, actor: Actor | User) -> Partner:
    """Suspend; every credential of the partner is refused from its next request."""
    if not reason.strip():
        raise DomainError("A reason is required to suspend a partner.", code="reason_required")
    return _transition(
        partner=partner,
        to=Partner.Status.SUSPENDED,
        allowed_from=(Partner.Status.ACTIVE,),
        actor=actor,
        action="partner.suspended",
        reason=reason,
    )


@transaction.atomic
def partner_reactivate(*, partner: Partner, actor: Actor | User, reason: str = "") -> Partner:
    return _transition(
        partner=partner,
        to=Partner.Status.ACTIVE,
        allowed_from=(Partner.Status.SUSPENDED,),
        actor=actor,
        action="partner.reactivated",
        reason=reason,
    )


@transaction.atomic
def partner_terminate(*, partner: Partner, reason: str, actor: Actor | User) -> Partner:
    """Terminate for good: keys revoked, OAuth clients revoked and their tokens deleted."""
    partner = _transition(
        partner=partner,
        to=Partner.Status.TERMINATED,
        allowed_from=(Partner.Status.PENDING, Partner.Status.ACTIVE, Partner.Status.SUSPENDED),
        actor=actor,
        action="partner.terminated",
        reason=reason,
    )
    now = timezone.now()
    actor_ref = getattr(actor, "ref", "") or getattr(actor, "public_id", "")
    ApiKey.objects.filter(partner=partner, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor_ref, revoked_reason="partner terminated"
    )
    clients = PartnerOAuthClient.objects.filter(partner=partner, revoked_at__isnull=True)
    application_ids = list(clients.values_list("application_id", flat=True))
    clients.update(revoked_at=now)
    RefreshToken.objects.filter(application_id__in=application_ids).delete()
    AccessToken.objects.filter(application_id__in=application_ids).delete()
    return partner


@dataclass(frozen=True)
class PartnerStatistics:
    active_api_keys: int
    oauth_clients: int
    contacts: int
    applications_by_status: dict[str, int]
    current_agreement_version: str | None
    calls_last_30_days: int
    errors_last_30_days: int


def partner_statistics(*, partner: Partner) -> PartnerStatistics:
    now = timezone.now()
    today = now.date()
    usage = PartnerUsageDaily.objects.filter(
        partner=partner, day__gte=today - timedelta(days=30)
    ).aggregate(calls=Sum("calls"), errors=Sum("errors"))
    agreement = (
        PartnerAgreement.objects.filter(partner=partner, effective_from__lte=today)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=today))
        .order_by("-effective_from")
        .first()
    )
    by_status = dict(
        PartnerApplication.objects.filter(partner=partner)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return PartnerStatistics(
        active_api_keys=ApiKey.objects.filter(partner=partner, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count(),
        oauth_clients=PartnerOAuthClient.objects.filter(
            partner=partner, revoked_at__isnull=True
        ).count(),
        contacts=PartnerContact.objects.filter(partner=partner).count(),
        applications_by_status=by_status,
        current_agreement_version=agreement.version if agreement else None,
        calls_last_30_days=usage["calls"] or 0,
        errors_last_30_days=usage["errors"] or 0,
    )
