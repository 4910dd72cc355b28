"""rbac writes: audit events (more services arrive with the rbac core)."""

from typing import Any

from django.http import HttpRequest

from careos.actors import Actor
from rbac.models import AuditEvent, Clinic, User


def actor_for_user(user: User) -> Actor:
    return Actor(kind="user", ref=user.public_id, label=user.get_username(), user_id=user.pk)


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: Actor | User,
    action: str,
    target_type: str = "",
    target_ref: str = "",
    patient: User | None = None,
    clinic: Clinic | None = None,
    request: HttpRequest | None = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    if isinstance(actor, User):
        actor = actor_for_user(actor)
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_ref=actor.ref,
        actor_label=actor.label[:200],
        actor_user_id=actor.user_id,
        partner_ref=actor.partner_ref,
        action=action,
        target_type=target_type,
        target_ref=target_ref,
        patient=patient,
        clinic=clinic,
        ip_address=_client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        reason=reason,
        metadata=metadata or {},
    )
