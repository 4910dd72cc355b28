"""A business customer's API access follows its subscription: registered with partners'
access hook (``partners.access``) from ``PaymentsConfig.ready``.

Refused with 403 ``subscription_inactive`` while billing has the partner suspended (past due,
canceled) and once ``subscription_ends_at`` has passed, whatever the status says: the end date
needs no job to take effect, every request compares it with the clock.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from partners.access import AccessDenial
from partners.models import Partner
from partners.principal import PartnerPrincipal
from payments.models import BillingAccount

CODE = "subscription_inactive"


@dataclass(frozen=True)
class SubscriptionAccess:
    status: str
    ends_at: datetime | None
    suspended_for_billing: bool


def _subscription_of(partner: Partner) -> SubscriptionAccess | None:
    row = (
        BillingAccount.objects.filter(partner=partner)
        .values_list("subscription_status", "subscription_ends_at", "suspended_for_billing")
        .first()
    )
    return SubscriptionAccess(*row) if row else None


def subscription_access_denial(principal: PartnerPrincipal) -> AccessDenial | None:
    partner = principal.partner
    if partner.partner_type != Partner.Type.BUSINESS_CUSTOMER:
        return None  # only business customers are billed: no query for the others
    # Memoized with the credential; saving a BillingAccount reloads it (watched in ready()).
    subscription = principal.memoized(
        "payments.subscription_access", lambda: _subscription_of(partner)
    )
    if subscription is None:
        return None
    if subscription.suspended_for_billing and partner.status == Partner.Status.SUSPENDED:
        return AccessDenial(
            code=CODE,
            detail=f"The subscription is {subscription.status.replace('_', ' ')}: "
            "settle it with the billing provider to restore API access.",
        )
    if subscription.ends_at is not None and subscription.ends_at <= timezone.now():
        return AccessDenial(
            code=CODE,
            detail=f"The subscription ended at {subscription.ends_at.isoformat()}: renew it "
            "with the billing provider to restore API access.",
        )
    return None
