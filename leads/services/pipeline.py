"""The lead pipeline: new → contacted → qualified → assigned → converted, or lost (with a
reason) from any open status. Each transition locks the lead, audits and publishes an event."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from leads.models import Lead, LeadStatus, LostReason
from leads.services.ingest import lead_event_payload
from partners.services.events import publish_event
from rbac.models import Clinic, User
from rbac.services import audit_record

_NEXT: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.LOST},
    LeadStatus.CONTACTED: {LeadStatus.QUALIFIED, LeadStatus.LOST},
    LeadStatus.QUALIFIED: {LeadStatus.ASSIGNED, LeadStatus.LOST},
    # assigned → assigned is a reassignment
    LeadStatus.ASSIGNED: {LeadStatus.ASSIGNED, LeadStatus.CONVERTED, LeadStatus.LOST},
    LeadStatus.CONVERTED: set(),
    LeadStatus.LOST: set(),
}

_EVENT: dict[str, str] = {
    LeadStatus.CONTACTED: "lead.updated",
    LeadStatus.QUALIFIED: "lead.qualified",
    LeadStatus.ASSIGNED: "lead.assigned",
    LeadStatus.CONVERTED: "lead.converted",
    LeadStatus.LOST: "lead.updated",
}


class LeadTransitionError(ConflictError):
    code = "lead_transition_invalid"
    title = "The lead cannot move to this status"


class LeadAssignmentError(DomainError):
    code = "lead_assignment_invalid"
    title = "A lead is assigned to a clinic or a specialist"


def lead_can_move(lead: Lead, target: str) -> bool:
    return target in _NEXT[lead.status]


def _transition(
    *,
    lead: Lead,
    target: str,
    actor: Actor | User,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    event_extra: dict[str, Any] | None = None,
) -> Lead:
    locked = Lead.objects.select_for_update().select_related("partner", "patient").get(pk=lead.pk)
    if not lead_can_move(locked, target):
        raise LeadTransitionError(
            f"Lead {locked.public_id} is {locked.status}; it cannot become {target}.",
            extra={"currentStatus": locked.status},
        )
    previous = locked.status
    locked.status = target
    locked.status_changed_at = timezone.now()
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "status_changed_at", *(changes or {}), "updated_at"])
    audit_record(
        actor=actor,
        action=f"lead.{target}",
        target_type="lead",
        target_ref=locked.public_id,
        patient=locked.patient,
        clinic=locked.assigned_clinic,
        reason=reason,
        metadata={"from": previous, "to": target},
    )
    payload = {**lead_event_payload(locked), "previousStatus": previous, **(event_extra or {})}
    if _EVENT[target] == "lead.updated":
        payload["changes"] = ["status", *(["lostReason"] if target == LeadStatus.LOST else [])]
    publish_event(
        event_type=_EVENT[target],
        owner=locked.partner,
        payload=payload,
        idempotency_key=f"{_EVENT[target]}:{locked.public_id}:{target}:{locked.status_changed_at.isoformat()}",
    )
    for name in ("status", "status_changed_at", "updated_at", *(changes or {})):
        setattr(lead, name, getattr(locked, name))
    return lead


@transaction.atomic
def lead_contact(*, lead: Lead, actor: Actor | User) -> Lead:
    return _transition(lead=lead, target=LeadStatus.CONTACTED, actor=actor)


@transaction.atomic
def lead_qualify(*, lead: Lead, actor: Actor | User) -> Lead:
    return _transition(lead=lead, target=LeadStatus.QUALIFIED, actor=actor)


@transaction.atomic
def lead_assign(
    *,
    lead: Lead,
    actor: Actor | User,
    clinic: Clinic | None = None,
    specialist: User | None = None,
) -> Lead:
    """Assign to a clinic, a specialist, or both (a specialist of that clinic)."""
    if clinic is None and specialist is None:
        raise LeadAssignmentError("Choose a clinic or a specialist.")
    if specialist is not None and specialist.kind != User.Kind.SPECIALIST:
        raise LeadAssignmentError("The assignee must be a specialist.")
    return _transition(
        lead=lead,
        target=LeadStatus.ASSIGNED,
        actor=actor,
        changes={"assigned_clinic": clinic, "assigned_specialist": specialist},
        event_extra={
            "clinicId": clinic.public_id if clinic else None,
            "specialistId": specialist.public_id if specialist else None,
        },
    )


@transaction.atomic
def lead_convert(*, lead: Lead, actor: Actor | User) -> Lead:
    return _transition(lead=lead, target=LeadStatus.CONVERTED, actor=actor)


@transaction.atomic
def lead_lose(*, lead: Lead, actor: Actor | User, reason: str, note: str = "") -> Lead:
    if reason not in LostReason.values:
        raise DomainError(
            f"reason must be one of {', '.join(LostReason.values)}.", code="lost_reason_invalid"
        )
    return _transition(
        lead=lead,
        target=LeadStatus.LOST,
        actor=actor,
        changes={"lost_reason": reason, "lost_note": note},
        reason=reason,
        event_extra={"lostReason": reason},
    )
