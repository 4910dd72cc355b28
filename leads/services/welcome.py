"""The welcome SMS of a referred lead: queued after the ingest commits, sent once, and at most
one per patient per partner within ``LEADS_WELCOME_WINDOW_DAYS`` — a partner sending the same
phone under many ``sourceLeadId``s does not make it receive many welcomes. (The platform-wide
daily cap per recipient, ``engagement.services.caps``, bounds every other sender too.)"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careos.actors import system_actor
from careos.errors import DomainError
from engagement.models import Channel, MessageStatus
from engagement.services.messages import message_send
from leads.models import Lead
from leads.texts import WELCOME_TEMPLATE_KEY
from partners.models import Partner
from rbac.models import User

logger = logging.getLogger("leads.ingest")

WELCOME_PURPOSE = "welcome_from_referral"


def _window() -> timedelta | None:
    days = settings.LEADS_WELCOME_WINDOW_DAYS
    return timedelta(days=days) if days > 0 else None


def welcomed_within_window(*, partner: Partner, patient: User, now: datetime | None = None) -> bool:
    """Whether a lead of ``partner`` for ``patient`` created within the window has its welcome
    queued or sent (the ingest then queues none for the new lead)."""
    window = _window()
    if window is None:
        return False
    since = (now or timezone.now()) - window
    return Lead.objects.filter(
        partner=partner, patient=patient, welcome_message_queued=True, created_at__gte=since
    ).exists()


def welcome_queue(*, lead_id: int) -> None:
    """Queue the welcome task; never raises (a broker outage is caught up by the sweep)."""
    from leads import tasks

    try:
        tasks.send_lead_welcome.delay(lead_id=lead_id)
    except Exception:
        logger.warning("welcome task for lead %s not queued; the sweep will retry", lead_id)


def _sibling_welcomed(lead: Lead, siblings: list[tuple[int, datetime, str, bool]]) -> bool:
    """Another lead of the same partner and patient, within the window, has a welcome sent."""
    window = _window()
    if window is None:
        return False
    return any(
        pk != lead.pk and ref and queued and abs(created_at - lead.created_at) < window
        for pk, created_at, ref, queued in siblings
    )


@transaction.atomic
def lead_welcome_send(*, lead_id: int) -> Lead | None:
    """Send (record and queue, via engagement) the lead's localized welcome SMS once.

    A welcome that cannot be composed (no template) is given up: logged, and the lead marked
    not queued. Running twice sends once (the lead is locked; engagement dedupes per lead).
    Every lead of the same partner and patient is locked first, in one order, so the welcomes
    of two such leads run one after the other and the second sees the first (sent within the
    window: this one is marked not queued and nothing is sent)."""
    owner = Lead.objects.filter(pk=lead_id).values("partner_id", "patient_id").first()
    if owner is None:
        return None
    siblings = list(
        Lead.objects.select_for_update()
        .filter(**owner)
        .order_by("pk")
        .values_list("pk", "created_at", "welcome_message_ref", "welcome_message_queued")
    )
    lead = Lead.objects.select_related("patient", "partner").filter(pk=lead_id).first()
    if lead is None or lead.welcome_message_ref or not lead.welcome_message_queued:
        return lead
    if _sibling_welcomed(lead, siblings):
        logger.info("welcome SMS for %s not sent: already welcomed in the window", lead.public_id)
        lead.welcome_message_queued = False
        lead.save(update_fields=["welcome_message_queued", "updated_at"])
        return lead
    try:
        with transaction.atomic():
            message = message_send(
                channel=Channel.SMS,
                recipient=lead.patient,
                purpose=WELCOME_PURPOSE,
                template_key=WELCOME_TEMPLATE_KEY,
                context={"first_name": lead.first_name, "partner_name": lead.partner.name},
                language=lead.language,
                dedupe_key=f"lead:{lead.public_id}",
                actor=system_actor("leads.welcome"),
            )
    except DomainError as exc:
        logger.warning("welcome SMS for %s not sent: %s", lead.public_id, exc.code)
        lead.welcome_message_queued = False
        lead.save(update_fields=["welcome_message_queued", "updated_at"])
        return lead
    lead.welcome_message_ref = message.public_id
    lead.welcome_message_queued = message.status != MessageStatus.SUPPRESSED
    lead.save(update_fields=["welcome_message_ref", "welcome_message_queued", "updated_at"])
    return lead


def leads_welcome_sweep(*, now: datetime | None = None) -> int:
    """Queue the welcome of leads whose after-commit queueing was lost (broker outage, crash):
    created over two minutes and less than a day ago, still without a message."""
    now = now or timezone.now()
    ids = list(
        Lead.objects.filter(
            welcome_message_queued=True,
            welcome_message_ref="",
            created_at__lt=now - timedelta(minutes=2),
            created_at__gte=now - timedelta(days=1),
        ).values_list("pk", flat=True)[:500]
    )
    for lead_id in ids:
        welcome_queue(lead_id=lead_id)
    return len(ids)
