"""The platform-wide daily cap of messages per recipient, enforced in the database: messages
over it are recorded ``suppressed`` with the reason, never sent, never lost."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Campaign, Message, MessageStatus, RecipientDay
from engagement.services.campaigns import campaign_create, campaign_launch
from engagement.services.caps import recipient_days_prune
from engagement.services.messages import message_send
from engagement.tasks import release_deferred_messages
from tests.engagement.conftest import reminder_message
from tests.infra import require_postgresql

ACTOR = system_actor("tests")


@pytest.fixture(autouse=True)
def _midday(time_machine) -> None:  # type: ignore[no-untyped-def]
    """Daily counters: the test runs at noon UTC, never across midnight."""
    now = timezone.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    time_machine.move_to(noon if noon >= now else noon + timedelta(days=1))  # forward only


def _send(recipient, key: str, *, purpose: str = "reminder", channel: str = "sms") -> Message:  # type: ignore[no-untyped-def]
    return message_send(
        channel=channel,
        recipient=recipient,
        purpose=purpose,
        template_key="reminder",
        context={"title": "Walk"},
        dedupe_key=key,
        actor=ACTOR,
    )


@pytest.mark.django_db
def test_messages_over_the_daily_cap_are_suppressed_with_the_reason(
    settings, patient, make_patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 3
    with django_capture_on_commit_callbacks(execute=True):
        sent = [_send(patient, f"k{i}", purpose=("reminder", "billing")[i % 2]) for i in range(5)]
        other = _send(make_patient(), "k1")
    statuses = [Message.objects.get(pk=m.pk).status for m in sent]
    assert statuses == [MessageStatus.SENT] * 3 + [MessageStatus.SUPPRESSED] * 2
    capped = Message.objects.get(pk=sent[-1].pk)
    assert capped.last_error == "daily message cap for this recipient reached (3 per day)"
    assert [o.to for o in ConsoleSMSTransport.outbox].count(patient.phone) == 3
    assert Message.objects.get(pk=other.pk).status == MessageStatus.SENT  # another recipient
    # An email address is its own recipient; a repeat of a message takes no second slot.
    assert _send(patient, "k1", channel="email").status == MessageStatus.QUEUED
    assert _send(patient, "k0").pk == sent[0].pk
    assert RecipientDay.objects.get(recipient_index=capped.recipient_index).count == 3


@pytest.mark.django_db
def test_the_cap_is_per_utc_day_and_zero_turns_it_off(settings, patient, time_machine):
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 1
    assert _send(patient, "a").status == MessageStatus.QUEUED
    assert _send(patient, "b").status == MessageStatus.SUPPRESSED
    time_machine.move_to(timezone.now() + timedelta(days=1))
    assert _send(patient, "c").status == MessageStatus.QUEUED
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 0
    assert _send(patient, "d").status == MessageStatus.QUEUED
    # Counters of days before yesterday are dropped by the minute sweep.
    time_machine.move_to(timezone.now() + timedelta(days=2))
    assert RecipientDay.objects.count() == 2
    release_deferred_messages.delay().get()
    assert RecipientDay.objects.count() == 0
    assert recipient_days_prune() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_senders_cannot_pass_the_cap_together(settings, patient):
    require_postgresql()
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 2
    workers = 6
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            reminder_message(patient, key=f"c{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = list(Message.objects.values_list("status", flat=True))
    assert len(statuses) == workers
    assert sum(s != MessageStatus.SUPPRESSED for s in statuses) == 2
    assert RecipientDay.objects.get().count == 2


@pytest.mark.django_db
def test_a_campaign_respects_the_cap(
    settings, clinic, enrol, make_patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 1
    busy, free = enrol(make_patient()), enrol(make_patient())
    _send(busy, "earlier today")
    campaign = campaign_create(
        clinic=clinic, name="Flu", channel="sms", template_key="wellness_campaign", actor=ACTOR
    )
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign=campaign, actor=ACTOR)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED
    by_recipient = {m.recipient_id: m for m in Message.objects.filter(campaign=campaign)}
    assert by_recipient[free.pk].status == MessageStatus.SENT
    assert by_recipient[busy.pk].status == MessageStatus.SUPPRESSED
    assert "daily message cap" in by_recipient[busy.pk].last_error
