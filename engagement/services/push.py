"""Patients' Web Push subscriptions."""

import base64
import binascii
from urllib.parse import urlsplit

from django.db import transaction

from careos.crypto import blind_index
from careos.errors import DomainError, NotFoundError
from careos.http import UnsafeURLError, validate_public_url
from engagement.models import PushSubscription
from rbac.models import User
from rbac.services import audit_record


class SubscriptionInvalid(DomainError):
    code = "push_subscription_invalid"
    status = 400
    title = "The push subscription is invalid"


def _b64url_len(value: str) -> int:
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise SubscriptionInvalid("Keys must be base64url.") from exc


@transaction.atomic
def push_subscription_register(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Register (or re-activate) the browser subscription; one row per endpoint."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        raise SubscriptionInvalid("The endpoint must be an https URL.")
    if _b64url_len(p256dh) != 65 or _b64url_len(auth) != 16:
        raise SubscriptionInvalid("p256dh must be a P-256 public key and auth 16 bytes.")
    try:
        # The push service is whatever the browser says: never let it point inside our network.
        validate_public_url(endpoint)
    except UnsafeURLError as exc:
        raise SubscriptionInvalid(f"The endpoint is refused: {exc.reason}") from exc
    index = blind_index(endpoint, purpose="engagement.push_endpoint")
    subscription, created = PushSubscription.objects.update_or_create(
        endpoint_index=index,
        defaults={
            "user": user,
            "endpoint": endpoint,
            "p256dh": p256dh,
            "auth": auth,
            "user_agent": user_agent[:300],
            "is_active": True,
        },
    )
    if created:
        audit_record(
            actor=user,
            action="engagement.push_subscription.created",
            target_type="engagement.push_subscription",
            target_ref=subscription.public_id,
            patient=user,
        )
    return subscription


@transaction.atomic
def push_subscription_delete(*, user: User, public_id: str) -> None:
    subscription = PushSubscription.objects.filter(user=user, public_id=public_id).first()
    if subscription is None:
        raise NotFoundError()
    audit_record(
        actor=user,
        action="engagement.push_subscription.deleted",
        target_type="engagement.push_subscription",
        target_ref=public_id,
        patient=user,
    )
    subscription.delete()
