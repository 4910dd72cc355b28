"""The billing provider's webhook events applied to business customers' subscriptions, and the
email their contacts get when a charge fails."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from careos.errors import DomainError
from engagement.services.messages import message_send
from partners.models import PartnerContact
from partners.selectors import partner_contacts
from payments.models import BillingAccount, BillingEvent
from payments.services.common import format_money
from payments.services.subscriptions import (
    ACTOR,
    SUSPENDING,
    billing_access_apply,
    billing_status_clean,
    billing_status_set,
)
from rbac.services import audit_record

logger = logging.getLogger(__name__)

CHARGE_FAILED_TEMPLATE = "billing_charge_failed"
# Who hears that a charge failed: the billing email given at registration, and the business's
# billing and primary contacts (managed at /api/v1/partners/me/contacts).
_NOTICE_ROLES = (PartnerContact.Role.BILLING, PartnerContact.Role.PRIMARY)


def _when(value: Any, *, field: str) -> datetime | None:
    """An event time (Unix seconds or ISO 8601; naive means UTC) as an aware datetime; None when
    absent or not a time. Raises ``DomainError`` naming ``field`` for a time no ``datetime`` can
    hold (out of range, or well-formed but impossible such as ``2026-02-30T00:00:00Z``)."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            when = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, str):
            when = parse_datetime(value.strip())
        else:
            return None
    except (ValueError, OverflowError, OSError) as exc:
        raise DomainError(
            f"{field} is not a valid time.", code="invalid_event", extra={"field": field}
        ) from exc
    if when is not None and timezone.is_naive(when):
        when = when.replace(tzinfo=UTC)
    return when


def _invalid(detail: str) -> DomainError:
    return DomainError(detail, code="invalid_event")


@transaction.atomic
def billing_webhook_apply(*, event: dict[str, Any]) -> tuple[BillingEvent, bool]:
    """Apply one verified provider event; (log row, applied). Each provider event id is applied
    once; a status change older than the last one applied is logged but not applied.

    ``subscription.canceled`` and ``subscription.updated`` take ``data.ends_at`` as the end of
    the subscription; a canceled subscription made active again without one no longer ends.
    An applied ``charge.failed`` emails the business's contacts (once per event).
    Raises ``DomainError`` ``invalid_event`` for an event without a usable id or data object.
    """
    event_id = event.get("id")
    if not isinstance(event_id, str | int) or isinstance(event_id, bool) or not str(event_id):
        raise _invalid("The event has no id.")
    event_id = str(event_id)
    if len(event_id) > 255:
        raise _invalid("The event id is longer than 255 characters.")
    data = event.get("data") or {}
    if not isinstance(data, dict):
        raise _invalid("The event data must be an object.")
    customer_id = str(data.get("customer_id") or "")
    event_type = str(event.get("type") or "")[:64]
    account = (
        BillingAccount.objects.select_for_update()
        .select_related("partner")
        .filter(provider_customer_id=customer_id)
        .first()
        if customer_id
        else None
    )
    amount = data.get("amount")
    amount = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
    try:
        with transaction.atomic():
            log = BillingEvent.objects.create(
                account=account,
                provider_event_id=event_id,
                event_type=event_type,
                provider_customer_id=customer_id[:255],
                amount=amount,
                currency=str(data.get("currency") or "")[:3].upper(),
                status=str(data.get("status") or "")[:32],
                error_message=str(data.get("error_message") or "")[:500],
                payload=event,
            )
    except IntegrityError:
        return BillingEvent.objects.get(provider_event_id=event_id), False
    if account is None:
        return log, False
    occurred = _when(event.get("created"), field="created") or timezone.now()
    S = BillingAccount.SubscriptionStatus
    if event_type == "charge.succeeded":
        account.last_billed_at = max(filter(None, [account.last_billed_at, occurred]))
        new_status: str = S.ACTIVE
    elif event_type == "charge.failed":
        new_status = S.PAST_DUE
    elif event_type == "subscription.updated":
        new_status = billing_status_clean(str(data.get("status") or S.ACTIVE))
        plan = str(data.get("plan") or "")
        if plan in settings.BILLING_PLAN_PRICES:
            account.plan = plan
    elif event_type == "subscription.canceled":
        new_status = S.CANCELED
    else:
        return log, False
    if account.status_event_at is not None and occurred < account.status_event_at:
        return log, False  # older than the status already applied (out-of-order delivery)
    account.status_event_at = occurred
    previous = account.subscription_status
    ends_at = (
        _when(data.get("ends_at"), field="data.ends_at")
        if event_type.startswith("subscription.")
        else None
    )
    if ends_at is None and previous == S.CANCELED and new_status not in SUSPENDING:
        account.subscription_ends_at = None  # reactivated: the cancellation's end is void
    billing_status_set(account=account, status=new_status, ends_at=ends_at)
    audit_record(
        actor=ACTOR,
        action="payments.billing_account.status_changed",
        target_type="payments.billing_account",
        target_ref=account.public_id,
        metadata={"from": previous, "to": new_status, "event": event_id},
    )
    billing_access_apply(account=account, actor=ACTOR)
    if event_type == "charge.failed":
        charge_failed_notify(account=account, event=log)
    return log, True


def billing_notice_recipients(*, account: BillingAccount) -> list[str]:
    """The account's billing email and its partner's billing and primary contacts, once each."""
    contacts = partner_contacts(partner=account.partner).filter(role__in=_NOTICE_ROLES)
    found: dict[str, str] = {}
    for address in [account.email, *contacts.order_by("pk").values_list("email", flat=True)]:
        address = (address or "").strip()
        if address:
            found.setdefault(address.lower(), address)
    return list(found.values())


def charge_failed_notify(*, account: BillingAccount, event: BillingEvent) -> int:
    """Email the business's contacts that a charge failed (engagement delivers it after commit;
    one email per recipient and provider event). Returns how many were queued. A template
    problem is logged, never raised: it must not undo the subscription change."""
    amount = (
        format_money(event.amount, event.currency)
        if event.amount is not None and len(event.currency) == 3
        else ""
    )
    context = {
        "business_name": account.partner.name,
        "amount": amount,
        "reason": event.error_message,
    }
    queued = 0
    for address in billing_notice_recipients(account=account):
        try:
            message_send(
                channel="email",
                recipient=address,
                purpose=CHARGE_FAILED_TEMPLATE,
                template_key=CHARGE_FAILED_TEMPLATE,
                context=context,
                language=account.language,
                dedupe_key=f"billing_event:{event.provider_event_id}",
                urgent=True,  # API access is suspended now: not held for quiet hours
                actor=ACTOR,
            )
        except DomainError:
            logger.exception("charge-failed notice for %s not sent", account.public_id)
            continue
        queued += 1
    if not queued:
        logger.warning("no one to tell that a charge of %s failed", account.public_id)
    return queued
