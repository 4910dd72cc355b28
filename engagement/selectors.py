"""Reads shared by the API, admin, services and the benchmark."""

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from engagement.models import (
    Campaign,
    Message,
    MessageStatus,
    PatientTag,
    PatientTask,
    Reminder,
)
from rbac.models import Clinic, ConsentRecord, Membership, User
from rbac.roles import PATIENT
from rbac.selectors import clinics_where


def campaign_audience(*, campaign: Campaign, after_pk: int = 0) -> QuerySet[User]:
    """Patients of the campaign's clinic (active membership with the patient role) matching its
    segment (see ``Campaign``), with a pk above ``after_pk`` (keyset pages).

    The ``after_pk`` bound is repeated inside each subquery so that PostgreSQL's merge semi-join
    starts the related index scans at the page, not at the table's start: a page costs the same
    at the end of a 100,000-patient campaign as at its beginning."""
    clinic, segment = campaign.clinic, campaign.segment or {}
    in_clinic = Exists(
        Membership.objects.filter(
            user=OuterRef("pk"),
            user_id__gt=after_pk,
            clinic=clinic,
            is_active=True,
            role__slug=PATIENT,
        )
    )
    users = User.objects.filter(in_clinic, pk__gt=after_pk, kind=User.Kind.PATIENT, is_active=True)
    if segment.get("languages"):
        users = users.filter(preferred_language__in=segment["languages"])
    if segment.get("regions"):
        users = users.filter(region__in=segment["regions"])
    if segment.get("tags"):
        users = users.filter(
            Exists(
                PatientTag.objects.filter(
                    patient=OuterRef("pk"),
                    patient_id__gt=after_pk,
                    clinic=clinic,
                    tag__in=segment["tags"],
                )
            )
        )
    consent = segment.get("consent", ConsentRecord.Type.MARKETING)
    if consent:
        users = users.filter(
            Exists(
                ConsentRecord.objects.filter(
                    Q(clinic=clinic) | Q(clinic__isnull=True),
                    patient=OuterRef("pk"),
                    patient_id__gt=after_pk,
                    consent_type=consent,
                    status=ConsentRecord.Status.CONFIRMED,
                )
            )
        )
    now = timezone.now()
    if segment.get("active_within_days"):
        users = users.filter(
            last_login__gte=now - timedelta(days=int(segment["active_within_days"]))
        )
    if segment.get("inactive_for_days"):
        cutoff = now - timedelta(days=int(segment["inactive_for_days"]))
        users = users.filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True))
    return users


def campaign_analytics(*, campaign: Campaign) -> dict[str, int]:
    by_status = dict(
        Message.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    sent_or_later = sum(by_status.get(s, 0) for s in (MessageStatus.SENT, MessageStatus.DELIVERED))
    return {
        "audience_size": campaign.audience_size,
        "targeted": campaign.targeted_count,
        "suppressed": by_status.get(MessageStatus.SUPPRESSED, 0),
        "deferred": by_status.get(MessageStatus.DEFERRED, 0),
        "queued": by_status.get(MessageStatus.QUEUED, 0) + by_status.get(MessageStatus.SENDING, 0),
        "sent": sent_or_later,
        "delivered": by_status.get(MessageStatus.DELIVERED, 0),
        "failed": by_status.get(MessageStatus.FAILED, 0)
        + by_status.get(MessageStatus.UNDELIVERABLE, 0),
        "cancelled": by_status.get(MessageStatus.CANCELLED, 0),
        "task_completions": PatientTask.objects.filter(
            campaign=campaign, status=PatientTask.Status.COMPLETED
        ).count(),
    }


def clinic_engagement_over_time(*, clinic: Clinic, days: int = 30) -> list[dict[str, object]]:
    """Per day: messages sent, delivered, failed, suppressed and tasks completed."""
    since = timezone.now() - timedelta(days=days)
    rows: dict[object, dict[str, object]] = {}
    messages = (
        Message.objects.filter(clinic=clinic, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "status")
        .annotate(n=Count("pk"))
    )
    for row in messages:
        entry = rows.setdefault(
            row["day"],
            {
                "day": row["day"],
                "sent": 0,
                "delivered": 0,
                "failed": 0,
                "suppressed": 0,
                "tasks_completed": 0,
            },
        )
        status = row["status"]
        if status in (MessageStatus.SENT, MessageStatus.DELIVERED):
            entry["sent"] += row["n"]
        if status == MessageStatus.DELIVERED:
            entry["delivered"] += row["n"]
        elif status in (MessageStatus.FAILED, MessageStatus.UNDELIVERABLE):
            entry["failed"] += row["n"]
        elif status == MessageStatus.SUPPRESSED:
            entry["suppressed"] += row["n"]
    tasks = (
        PatientTask.objects.filter(clinic=clinic, completed_at__gte=since)
        .annotate(day=TruncDate("completed_at"))
        .values("day")
        .annotate(n=Count("pk"))
    )
    for row in tasks:
        entry = rows.setdefault(
            row["day"],
            {
                "day": row["day"],
                "sent": 0,
                "delivered": 0,
                "failed": 0,
                "suppressed": 0,
                "tasks_completed": 0,
            },
        )
        entry["tasks_completed"] = row["n"]
    return [rows[day] for day in sorted(rows)]


def staff_clinic(*, user: User, permission: str, clinic_public_id: str) -> Clinic | None:
    """The clinic by public id when ``user`` holds ``permission`` there (else None → 404)."""
    return clinics_where(user, permission).filter(public_id=clinic_public_id).first()


def reminders_for_staff(*, user: User) -> QuerySet[Reminder]:
    return Reminder.objects.filter(
        clinic__in=clinics_where(user, "engagement.view_reminder")
    ).select_related("patient", "clinic")


def campaigns_for_staff(*, user: User, permission: str = "engagement.view_campaign"):
    return Campaign.objects.filter(clinic__in=clinics_where(user, permission)).select_related(
        "clinic"
    )


def messages_for_staff(*, user: User) -> QuerySet[Message]:
    return (
        Message.objects.filter(clinic__in=clinics_where(user, "engagement.view_message"))
        .select_related("recipient", "campaign")
        .defer("to_address", "subject", "body", "html_body")
    )
