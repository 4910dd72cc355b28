import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Campaign, Message, MessageStatus, OptOut, PatientTag, PatientTask
from engagement.selectors import campaign_analytics, clinic_engagement_over_time
from engagement.services.campaigns import (
    campaign_cancel,
    campaign_create,
    campaign_launch,
    campaign_send_batch,
)
from engagement.services.optouts import optout_record
from engagement.services.reminders import task_complete

ACTOR = system_actor("tests")


def _campaign(clinic, **extra) -> Campaign:
    return campaign_create(
        clinic=clinic,
        name="Flu season",
        channel="sms",
        template_key="wellness_campaign",
        actor=ACTOR,
        **extra,
    )


@pytest.mark.django_db
def test_campaign_sends_to_segment_in_batches(
    settings, clinic, enrol, make_patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_CAMPAIGN_BATCH_SIZE = 2
    en = [enrol(make_patient(first_name=f"P{i}")) for i in range(3)]
    es = enrol(make_patient(first_name="Luz", preferred_language="es"))
    enrol(make_patient(), consent=False)  # no marketing consent: not in the audience
    make_patient()  # not a patient of this clinic
    optout_record(channel="sms", address=en[2].phone, source="staff", actor=ACTOR)
    campaign = _campaign(clinic, create_task_title="Book your check-up")

    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign=campaign, actor=ACTOR)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.audience_size == 4
    assert campaign.batches_done == 2
    bodies = {o.body for o in ConsoleSMSTransport.outbox}
    assert "Hola Luz, Sunrise Clinic te invita a reservar tu chequeo preventivo." in " ".join(
        bodies
    )
    assert len(ConsoleSMSTransport.outbox) == 3
    suppressed = Message.objects.get(status=MessageStatus.SUPPRESSED)
    assert suppressed.recipient == en[2]
    assert PatientTask.objects.filter(campaign=campaign).count() == 3
    task_complete(task=PatientTask.objects.filter(patient=es).get(), actor=es)
    assert campaign_analytics(campaign=campaign) | {"audience_size": 4} == {
        "audience_size": 4,
        "targeted": 4,
        "suppressed": 1,
        "deferred": 0,
        "queued": 0,
        "sent": 3,
        "delivered": 0,
        "failed": 0,
        "cancelled": 0,
        "task_completions": 1,
    }
    (today,) = clinic_engagement_over_time(clinic=clinic)
    assert (today["sent"], today["suppressed"], today["tasks_completed"]) == (3, 1, 1)


@pytest.mark.django_db
def test_segment_by_language_region_and_tag(clinic, enrol, make_patient):
    target = enrol(make_patient(preferred_language="fr", region="QC"))
    enrol(make_patient(preferred_language="fr", region="ON"))
    enrol(make_patient(preferred_language="en", region="QC"))
    PatientTag.objects.create(clinic=clinic, patient=target, tag="diabetes")
    campaign = _campaign(
        clinic, segment={"languages": ["fr"], "regions": ["QC"], "tags": ["diabetes"]}
    )
    campaign_launch(campaign=campaign, actor=ACTOR)
    campaign.refresh_from_db()
    assert campaign.audience_size == 1


@pytest.mark.django_db
def test_cancel_stops_further_sends(settings, clinic, enrol, make_patient):
    settings.ENGAGEMENT_CAMPAIGN_BATCH_SIZE = 2
    for _ in range(5):
        enrol(make_patient())
    campaign = _campaign(clinic)
    campaign_launch(campaign=campaign, actor=ACTOR)  # the batch task is not run yet
    assert campaign_send_batch(campaign_id=campaign.pk) == 2
    assert len(ConsoleSMSTransport.outbox) == 2

    campaign_cancel(campaign=campaign, actor=ACTOR)
    assert campaign_send_batch(campaign_id=campaign.pk) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert len(ConsoleSMSTransport.outbox) == 2
    assert Message.objects.filter(campaign=campaign).count() == 2


@pytest.mark.django_db
def test_cancel_drops_deferred_messages(settings, clinic, enrol, make_patient):
    settings.ENGAGEMENT_QUIET_HOURS_START = "00:00"
    settings.ENGAGEMENT_QUIET_HOURS_END = "23:59"
    enrol(make_patient())
    campaign = _campaign(clinic)
    campaign_launch(campaign=campaign, actor=ACTOR)
    campaign_send_batch(campaign_id=campaign.pk)
    assert Message.objects.get().status == MessageStatus.DEFERRED
    campaign_cancel(campaign=campaign, actor=ACTOR)
    assert Message.objects.get().status == MessageStatus.CANCELLED


@pytest.mark.django_db
def test_frequency_cap_suppresses(settings, clinic, enrol, make_patient):
    settings.ENGAGEMENT_CAMPAIGN_CAP_COUNT = 1
    enrol(make_patient())
    first, second = _campaign(clinic), _campaign(clinic)
    for campaign in (first, second):
        campaign_launch(campaign=campaign, actor=ACTOR)
        campaign_send_batch(campaign_id=campaign.pk)
    assert Message.objects.get(campaign=first).status == MessageStatus.SENT
    capped = Message.objects.get(campaign=second)
    assert (capped.status, capped.last_error) == (MessageStatus.SUPPRESSED, "frequency cap")


@pytest.mark.django_db
def test_queries_per_batch_do_not_grow_with_batch_size(settings, clinic, enrol, make_patient):
    for _ in range(12):
        enrol(make_patient())
    counts = []
    for size in (3, 9):
        Message.objects.all().delete()
        OptOut.objects.all().delete()
        campaign = _campaign(clinic)
        campaign_launch(campaign=campaign, actor=ACTOR)
        with CaptureQueriesContext(connection) as queries:
            assert campaign_send_batch(campaign_id=campaign.pk, batch_size=size) == size
        counts.append(len(queries))
        campaign_cancel(campaign=campaign, actor=ACTOR)
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_launch_twice_is_a_conflict(clinic):
    from careos.errors import ConflictError

    campaign = _campaign(clinic)
    campaign_launch(campaign=campaign, actor=ACTOR)
    with pytest.raises(ConflictError):
        campaign_launch(campaign=campaign, actor=ACTOR)


@pytest.mark.django_db
def test_scheduled_campaign_starts_when_due(clinic, enrol, make_patient):
    from datetime import timedelta

    from django.utils import timezone

    from engagement.services.campaigns import campaigns_start_due

    enrol(make_patient())
    later = timezone.now() + timedelta(hours=2)
    campaign = _campaign(clinic, scheduled_at=later)
    campaign_launch(campaign=campaign, actor=ACTOR)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    assert campaigns_start_due() == 0
    assert campaigns_start_due(now=later + timedelta(seconds=1)) == 1
    assert campaigns_start_due(now=later + timedelta(seconds=2)) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
