"""Reminders (one-off or RRULE) dispatched by beat, and patient tasks."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from django.db import IntegrityError, transaction
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.errors import ConflictError, DomainError
from engagement.models import Channel, PatientTask, Reminder, ReminderOccurrence
from engagement.recurrence import (  # noqa: F401 (re-exported for callers)
    RecurrenceError,
    RecurrenceTooFrequent,
    rrule_validate,
)
from engagement.services.messages import message_send
from engagement.services.templates import template_get
from rbac.models import Clinic, User
from rbac.selectors import patient_clinic_require
from rbac.services import audit_record

REMINDER_PURPOSE = "reminder"
logger = logging.getLogger("engagement.reminders")


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_occurrence(
    *, rrule: str, starts_at: datetime, after: datetime, zone: ZoneInfo, inclusive: bool = False
) -> datetime | None:
    """The first occurrence after ``after`` (UTC), computed in the patient's wall-clock time so
    a daily 09:00 reminder stays at 09:00 across DST changes."""
    if not rrule:
        return starts_at if (starts_at > after or (inclusive and starts_at == after)) else None
    local_start = starts_at.astimezone(zone).replace(tzinfo=None)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    try:
        rule = rrulestr(rrule.removeprefix("RRULE:"), dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(str(exc)) from exc
    local_next = rule.after(local_after, inc=inclusive)
    if local_next is None:
        return None
    return local_next.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


@transaction.atomic
def reminder_create(
    *,
    patient: User,
    title: str,
    starts_at: datetime,
    actor: Actor | User,
    rrule: str = "",
    channel: str = Channel.SMS,
    template_key: str = "reminder",
    note: str = "",
    clinic: Clinic | None = None,
    related_ref: str = "",
) -> Reminder:
    if patient.kind != User.Kind.PATIENT:
        raise DomainError("Reminders are for patients.", code="not_a_patient")
    if clinic is not None:
        patient_clinic_require(patient=patient, clinic=clinic)
    rrule_validate(rrule=rrule)
    template_get(key=template_key, language=patient.preferred_language)
    reminder = Reminder(
        patient=patient,
        clinic=clinic,
        title=title,
        note=note,
        starts_at=starts_at,
        rrule=rrule,
        channel=channel,
        template_key=template_key,
        related_ref=related_ref,
        created_by=actor.public_id if isinstance(actor, User) else actor.ref,
    )
    reminder.next_run_at = next_occurrence(
        rrule=rrule, starts_at=starts_at, after=starts_at, zone=_zone(patient), inclusive=True
    )
    if reminder.next_run_at is None:
        raise RecurrenceError("The rule has no occurrence.")
    reminder.save()
    audit_record(
        actor=actor,
        action="engagement.reminder.created",
        target_type="engagement.reminder",
        target_ref=reminder.public_id,
        patient=patient,
        clinic=clinic,
    )
    return reminder


@transaction.atomic
def reminder_cancel(*, reminder: Reminder, actor: Actor | User) -> Reminder:
    if reminder.status in (Reminder.Status.COMPLETED, Reminder.Status.CANCELLED):
        raise ConflictError("The reminder is already finished.")
    reminder.status, reminder.next_run_at = Reminder.Status.CANCELLED, None
    reminder.save(update_fields=["status", "next_run_at", "updated_at"])
    audit_record(
        actor=actor,
        action="engagement.reminder.cancelled",
        target_type="engagement.reminder",
        target_ref=reminder.public_id,
        patient=reminder.patient,
        clinic=reminder.clinic,
    )
    return reminder


def _fire(*, reminder_id: int, due_at: datetime, now: datetime) -> bool:
    """Claim and send one due occurrence; False when another worker claimed it first."""
    with transaction.atomic():
        reminder = Reminder.objects.select_related("patient", "clinic").get(pk=reminder_id)
        following = next_occurrence(
            rrule=reminder.rrule,
            starts_at=reminder.starts_at,
            after=max(due_at, now),
            zone=_zone(reminder.patient),
        )
        # The claim: only the worker that moves next_run_at from the value it read proceeds.
        claimed = Reminder.objects.filter(
            pk=reminder_id, status=Reminder.Status.ACTIVE, next_run_at=due_at
        ).update(
            next_run_at=following,
            status=Reminder.Status.ACTIVE if following else Reminder.Status.COMPLETED,
            updated_at=now,
        )
        if not claimed:
            return False
        try:
            with transaction.atomic():
                occurrence = ReminderOccurrence.objects.create(
                    reminder=reminder, occurrence_at=due_at
                )
        except IntegrityError:
            return False
        try:
            message = message_send(
                channel=reminder.channel,
                recipient=reminder.patient,
                purpose=REMINDER_PURPOSE,
                template_key=reminder.template_key,
                context={"title": reminder.title, "note": reminder.note},
                dedupe_key=f"{reminder.public_id}:{due_at.isoformat()}",
                actor=system_actor("engagement.reminders"),
                clinic=reminder.clinic,
            )
        except DomainError as exc:
            # No address or a broken template: this occurrence is spent (claimed) but the
            # others still fire; the reason is kept in the log without PHI.
            logger.warning("reminder %s not sent: %s", reminder.public_id, exc.code)
            return True
        occurrence.message = message
        occurrence.save(update_fields=["message"])
    return True


def reminders_dispatch_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Fire every due occurrence (beat task); returns how many this call fired."""
    now = now or timezone.now()
    due = list(
        Reminder.objects.filter(status=Reminder.Status.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at")
        .values_list("pk", "next_run_at")[:limit]
    )
    return sum(_fire(reminder_id=pk, due_at=due_at, now=now) for pk, due_at in due)


@transaction.atomic
def task_create(
    *,
    patient: User,
    title: str,
    actor: Actor | User,
    instructions: str = "",
    due_at: datetime | None = None,
    clinic: Clinic | None = None,
) -> PatientTask:
    if clinic is not None:
        patient_clinic_require(patient=patient, clinic=clinic)
    task = PatientTask.objects.create(
        patient=patient,
        clinic=clinic,
        title=title,
        instructions=instructions,
        due_at=due_at,
        created_by=actor.public_id if isinstance(actor, User) else actor.ref,
    )
    audit_record(
        actor=actor,
        action="engagement.task.created",
        target_type="engagement.task",
        target_ref=task.public_id,
        patient=patient,
        clinic=clinic,
    )
    return task


@transaction.atomic
def task_complete(*, task: PatientTask, actor: Actor | User) -> PatientTask:
    """Mark done (idempotent for a completed task; a cancelled task is a conflict)."""
    if task.status == PatientTask.Status.COMPLETED:
        return task
    if task.status == PatientTask.Status.CANCELLED:
        raise ConflictError("The task was cancelled.", code="task_cancelled")
    task.status, task.completed_at = PatientTask.Status.COMPLETED, timezone.now()
    task.save(update_fields=["status", "completed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="engagement.task.completed",
        target_type="engagement.task",
        target_ref=task.public_id,
        patient=task.patient,
        clinic=task.clinic,
    )
    return task
