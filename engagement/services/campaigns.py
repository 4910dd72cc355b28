"""Campaigns: launch, batched sending (keyset pages, bulk inserts), cancel."""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from careos.queueing import enqueue_on_commit
from engagement.models import (
    Campaign,
    Channel,
    Message,
    MessageStatus,
    MessageTemplate,
    PatientTask,
)
from engagement.models.messages import recipient_blind_index
from engagement.selectors import campaign_audience
from engagement.services.caps import cap_reason, recipients_reserve
from engagement.services.messages import _schedule_retry, deliver_claimed
from engagement.services.optouts import address_for, opted_out_indexes
from engagement.services.quiet_hours import quiet_hours_release_at
from engagement.services.templates import FALLBACK_LANGUAGE, template_render_obj
from rbac.models import Clinic, User
from rbac.services import audit_record

CAMPAIGN_PURPOSE = "campaign"
# Only the address of the campaign's channel is loaded (each is a decryption per recipient).
_ADDRESS_FIELDS = {Channel.SMS: ("phone",), Channel.EMAIL: ("email",)}
SEGMENT_KEYS = {
    "languages",
    "regions",
    "tags",
    "consent",
    "active_within_days",
    "inactive_for_days",
}


def _ref(actor: Actor | User) -> str:
    return actor.public_id if isinstance(actor, User) else actor.ref


def _audit(campaign: Campaign, actor: Actor | User, action: str, **metadata: object) -> None:
    audit_record(
        actor=actor,
        action=f"engagement.campaign.{action}",
        target_type="engagement.campaign",
        target_ref=campaign.public_id,
        clinic=campaign.clinic,
        metadata=metadata,
    )


def segment_validate(segment: dict) -> dict:
    unknown = set(segment) - SEGMENT_KEYS
    if unknown:
        raise DomainError(
            f"Unknown segment keys: {', '.join(sorted(unknown))}.", code="segment_invalid"
        )
    return segment


@transaction.atomic
def campaign_create(
    *,
    clinic: Clinic,
    name: str,
    channel: str,
    template_key: str,
    actor: Actor | User,
    segment: dict | None = None,
    scheduled_at: datetime | None = None,
    create_task_title: str = "",
) -> Campaign:
    if not MessageTemplate.objects.filter(key=template_key, is_active=True).exists():
        raise DomainError(f"No active template {template_key!r}.", code="template_not_found")
    campaign = Campaign.objects.create(
        clinic=clinic,
        name=name,
        channel=channel,
        template_key=template_key,
        segment=segment_validate(segment or {}),
        scheduled_at=scheduled_at,
        create_task_title=create_task_title,
        created_by=_ref(actor),
    )
    _audit(campaign, actor, "created")
    return campaign


def _enqueue_batch(campaign_id: int) -> None:
    """Queue the campaign's next batch after commit. Never raises: a sending campaign whose
    batch was not queued is resumed by ``campaigns_resume_stalled``."""
    from engagement.tasks import send_campaign_batch

    enqueue_on_commit(
        lambda: send_campaign_batch.delay(campaign_id=campaign_id),
        what=f"batch of engagement campaign {campaign_id}",
    )


@transaction.atomic
def campaign_launch(*, campaign: Campaign, actor: Actor | User) -> Campaign:
    """draft → scheduled (or straight to sending when its time has come)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ConflictError("Only a draft campaign can be launched.", code="campaign_not_draft")
    now = timezone.now()
    campaign.audience_size = campaign_audience(campaign=campaign).count()
    campaign.scheduled_at = campaign.scheduled_at or now
    if campaign.scheduled_at <= now:
        campaign.status, campaign.started_at = Campaign.Status.SENDING, now
        _enqueue_batch(campaign.pk)
    else:
        campaign.status = Campaign.Status.SCHEDULED
    campaign.save()
    _audit(campaign, actor, "launched", audience_size=campaign.audience_size)
    return campaign


def campaigns_start_due(*, now: datetime | None = None) -> int:
    """Beat: scheduled campaigns whose time has come start sending (claimed, so once)."""
    now = now or timezone.now()
    started = 0
    for pk in Campaign.objects.filter(
        status=Campaign.Status.SCHEDULED, scheduled_at__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            if Campaign.objects.filter(pk=pk, status=Campaign.Status.SCHEDULED).update(
                status=Campaign.Status.SENDING, started_at=now, updated_at=now
            ):
                _enqueue_batch(pk)
                started += 1
    return started


def campaigns_resume_stalled(*, now: datetime | None = None) -> int:
    """Beat: queue the next batch of sending campaigns that made no progress for
    ``ENGAGEMENT_CAMPAIGN_STALL_SECONDS`` (their batch was never queued: the broker was down at
    launch or after the previous batch). Touches each, so it is queued once per stall period.

    A batch queued twice sends nothing twice: batches lock the campaign, continue from its
    cursor and skip recipients it already has a message for.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ENGAGEMENT_CAMPAIGN_STALL_SECONDS)
    with transaction.atomic():
        pks = list(
            Campaign.objects.select_for_update(skip_locked=True)
            .filter(status=Campaign.Status.SENDING, updated_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        Campaign.objects.filter(pk__in=pks).update(updated_at=now)
        for pk in pks:
            _enqueue_batch(pk)
    return len(pks)


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: Actor | User) -> Campaign:
    """Stop a campaign: no further batch runs and its unsent messages are cancelled."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
        raise ConflictError("The campaign is already finished.", code="campaign_finished")
    now = timezone.now()
    campaign.status, campaign.finished_at = Campaign.Status.CANCELLED, now
    campaign.save(update_fields=["status", "finished_at", "updated_at"])
    dropped = Message.objects.filter(
        campaign=campaign, status__in=[MessageStatus.QUEUED, MessageStatus.DEFERRED]
    ).update(status=MessageStatus.CANCELLED, updated_at=now)
    _audit(campaign, actor, "cancelled", unsent_cancelled=dropped)
    return campaign


def _capped_indexes(*, indexes: list[str], campaign: Campaign, now: datetime) -> set[str]:
    limit = settings.ENGAGEMENT_CAMPAIGN_CAP_COUNT
    if not limit:
        return set()
    since = now - timedelta(days=settings.ENGAGEMENT_CAMPAIGN_CAP_DAYS)
    counts = (
        Message.objects.filter(
            purpose=CAMPAIGN_PURPOSE, recipient_index__in=indexes, created_at__gte=since
        )
        .exclude(campaign=campaign)
        .exclude(status__in=[MessageStatus.SUPPRESSED, MessageStatus.CANCELLED])
        .values("recipient_index")
        .annotate(n=Count("pk"))
        .filter(n__gte=limit)
        .values_list("recipient_index", flat=True)
    )
    return set(counts)


def campaign_send_batch(*, campaign_id: int, batch_size: int | None = None) -> int:
    """Create and send the next page of a sending campaign; returns the recipients handled.

    Queries per batch do not depend on the campaign's size: the page (keyset on the patient
    pk), templates, opt-outs, frequency cap, existing messages, one bulk insert, the claim, the
    cursor; then the delivery's opt-out re-check, bulk update and bulk insert of attempts.
    """
    batch_size = batch_size or settings.ENGAGEMENT_CAMPAIGN_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("clinic")
            .get(pk=campaign_id)
        )
        if campaign.status != Campaign.Status.SENDING:
            return 0
        users = list(
            campaign_audience(campaign=campaign, after_pk=campaign.cursor)
            .order_by("pk")
            .only(
                "pk",
                "public_id",
                "first_name",
                "preferred_language",
                "timezone",
                *_ADDRESS_FIELDS.get(campaign.channel, ()),
            )[:batch_size]
        )
        if not users:
            campaign.status, campaign.finished_at = Campaign.Status.COMPLETED, now
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
            _audit(campaign, campaign_actor(campaign), "completed")
            return 0
        messages = _build_messages(campaign=campaign, users=users, now=now)
        Message.objects.bulk_create(messages, batch_size=1000)
        if campaign.create_task_title:
            PatientTask.objects.bulk_create(
                [
                    PatientTask(
                        patient_id=m.recipient_id,
                        clinic=campaign.clinic,
                        campaign=campaign,
                        title=campaign.create_task_title,
                        created_by=campaign.public_id,
                    )
                    for m in messages
                    if m.status != MessageStatus.SUPPRESSED
                ],
                batch_size=1000,
            )
        to_send = [m for m in messages if m.status == MessageStatus.QUEUED]
        Message.objects.filter(pk__in=[m.pk for m in to_send], status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
        )
        for message in to_send:
            message.status, message.attempts = MessageStatus.SENDING, message.attempts + 1
        suppressed = sum(1 for m in messages if m.status == MessageStatus.SUPPRESSED)
        Campaign.objects.filter(pk=campaign.pk).update(
            cursor=users[-1].pk,
            batches_done=F("batches_done") + 1,
            targeted_count=F("targeted_count") + len(messages),
            suppressed_count=F("suppressed_count") + suppressed,
            updated_at=now,
        )
        # The next page is prepared by another worker while this one sends.
        _enqueue_batch(campaign.pk)
    if not Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.SENDING).exists():
        Message.objects.filter(pk__in=[m.pk for m in to_send], status=MessageStatus.SENDING).update(
            status=MessageStatus.CANCELLED, updated_at=now
        )
        return len(users)
    report = deliver_claimed(to_send, now=now)
    for message_id in report.retry_ids or []:
        _schedule_retry(message_id)
    return len(users)


def campaign_actor(campaign: Campaign) -> Actor:
    return Actor(kind="system", ref="system:engagement.campaigns", label=campaign.public_id)


def _build_messages(*, campaign: Campaign, users: list[User], now: datetime) -> list[Message]:
    templates = {
        t.language: t
        for t in MessageTemplate.objects.filter(key=campaign.template_key, is_active=True)
    }
    fallback = templates.get(FALLBACK_LANGUAGE) or next(iter(templates.values()), None)
    if fallback is None:
        raise DomainError(f"No active template {campaign.template_key!r}.")
    addressed = [(u, address_for(channel=campaign.channel, user=u)) for u in users]
    addressed = [(u, a) for u, a in addressed if a]
    indexes = [recipient_blind_index(a) for _, a in addressed]
    opted_out = opted_out_indexes(channel=campaign.channel, indexes=indexes)
    capped = _capped_indexes(indexes=indexes, campaign=campaign, now=now)
    already = set(
        Message.objects.filter(campaign=campaign, recipient_index__in=indexes).values_list(
            "recipient_index", flat=True
        )
    )
    seen: Counter[str] = Counter()
    messages: list[Message] = []
    for (user, address), index in zip(addressed, indexes, strict=True):
        seen[index] += 1
        if index in already or seen[index] > 1:
            continue  # two patients sharing an address get one message
        template = templates.get(user.preferred_language) or fallback
        available = {"first_name": user.first_name or "", "clinic_name": campaign.clinic.name}
        rendered = template_render_obj(
            template=template,
            context={k: v for k, v in available.items() if k in template.variables},
        )
        status, send_after, error = MessageStatus.QUEUED, None, ""
        if index in opted_out:
            status, error = MessageStatus.SUPPRESSED, "opted out"
        elif index in capped:
            status, error = MessageStatus.SUPPRESSED, "frequency cap"
        else:
            send_after = quiet_hours_release_at(timezone_name=user.timezone, now=now)
            if send_after is not None:
                status = MessageStatus.DEFERRED
        messages.append(
            Message(
                channel=campaign.channel,
                purpose=CAMPAIGN_PURPOSE,
                template_key=template.key,
                language=template.language,
                recipient_id=user.pk,
                to_address=address,
                recipient_index=index,
                clinic=campaign.clinic,
                campaign=campaign,
                subject=rendered.subject if campaign.channel != Channel.SMS else "",
                body=rendered.body,
                html_body=rendered.html_body,
                dedupe_key=campaign.public_id,
                status=status,
                send_after=send_after,
                last_error=error,
                created_by=campaign.public_id,
            )
        )
    _cap(messages, now=now)
    return messages


def _cap(messages: list[Message], *, now: datetime) -> None:
    """Suppress the messages whose recipient has no slot left today (platform-wide cap)."""
    sendable = [m for m in messages if m.status != MessageStatus.SUPPRESSED]
    reserved = recipients_reserve(indexes=[m.recipient_index for m in sendable], now=now)
    for message in sendable:
        if message.recipient_index not in reserved:
            message.status, message.send_after = MessageStatus.SUPPRESSED, None
            message.last_error = cap_reason()
