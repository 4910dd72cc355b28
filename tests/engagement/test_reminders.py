import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Message, PatientTask, Reminder, ReminderOccurrence
from engagement.services.reminders import (
    RecurrenceError,
    reminder_cancel,
    reminder_create,
    reminders_dispatch_due,
    task_complete,
    task_create,
)

ACTOR = system_actor("tests")
START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York (EST)


@pytest.fixture
def ny_patient(make_patient):
    return make_patient(timezone="America/New_York")


def _daily(patient, **extra) -> Reminder:
    return reminder_create(
        patient=patient,
        title="Blood pressure check",
        starts_at=START,
        rrule="FREQ=DAILY;COUNT=3",
        actor=ACTOR,
        **extra,
    )


@pytest.mark.django_db
def test_recurring_reminder_fires_once_per_occurrence(
    ny_patient, django_capture_on_commit_callbacks
):
    reminder = _daily(ny_patient, related_ref="bkg_123")
    assert reminder.next_run_at == START
    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(START - timedelta(minutes=1), tick=False):
            assert reminders_dispatch_due() == 0
        with time_machine.travel(START + timedelta(seconds=30), tick=False):
            assert reminders_dispatch_due() == 1
            assert reminders_dispatch_due() == 0  # the same occurrence never twice
        with time_machine.travel(START + timedelta(days=1, minutes=1), tick=False):
            assert reminders_dispatch_due() == 1
        with time_machine.travel(START + timedelta(days=2, minutes=1), tick=False):
            assert reminders_dispatch_due() == 1
        with time_machine.travel(START + timedelta(days=9), tick=False):
            assert reminders_dispatch_due() == 0
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.COMPLETED
    assert reminder.next_run_at is None
    occurrences = list(reminder.occurrences.order_by("occurrence_at"))
    assert [o.occurrence_at for o in occurrences] == [START + timedelta(days=d) for d in range(3)]
    assert all(o.message is not None for o in occurrences)
    assert len(ConsoleSMSTransport.outbox) == 3
    assert ConsoleSMSTransport.outbox[0].body == "Reminder: Blood pressure check"


@pytest.mark.django_db
def test_daily_reminder_keeps_local_time_across_dst(ny_patient):
    reminder = reminder_create(
        patient=ny_patient,
        title="Pills",
        starts_at=datetime(2026, 3, 7, 14, 0, tzinfo=UTC),  # Sat 09:00 EST
        rrule="FREQ=DAILY",
        actor=ACTOR,
    )
    with time_machine.travel(datetime(2026, 3, 7, 14, 1, tzinfo=UTC), tick=False):
        reminders_dispatch_due()
    reminder.refresh_from_db()
    # DST starts on Sunday 8 March: 09:00 EDT is 13:00 UTC.
    assert reminder.next_run_at == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_one_off_reminder_and_invalid_rule(ny_patient):
    reminder = reminder_create(patient=ny_patient, title="Lab", starts_at=START, actor=ACTOR)
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        assert reminders_dispatch_due() == 1
        assert reminders_dispatch_due() == 0
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.COMPLETED
    with pytest.raises(RecurrenceError):
        reminder_create(
            patient=ny_patient, title="x", starts_at=START, rrule="FREQ=SOMETIMES", actor=ACTOR
        )


@pytest.mark.django_db
def test_cancelled_reminder_does_not_fire(ny_patient):
    reminder = _daily(ny_patient)
    reminder_cancel(reminder=reminder, actor=ACTOR)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        assert reminders_dispatch_due() == 0
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_racing_send_each_occurrence_once(make_patient):
    patient = make_patient(timezone="America/New_York")
    reminders = [_daily(patient) for _ in range(5)]
    concurrent = connection.vendor == "postgresql"  # SQLite serialises writers: run in turn
    barrier = threading.Barrier(2 if concurrent else 1)
    fired: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            fired.append(reminders_dispatch_due(now=START + timedelta(minutes=1)))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    if concurrent:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        worker()
        worker()
    assert not errors
    assert sum(fired) == 5
    assert ReminderOccurrence.objects.count() == 5
    assert Message.objects.filter(purpose="reminder").count() == 5
    for reminder in reminders:
        reminder.refresh_from_db()
        assert reminder.next_run_at == START + timedelta(days=1)


@pytest.mark.django_db
def test_tasks_complete_idempotently(patient):
    task = task_create(patient=patient, title="Log your steps", actor=ACTOR)
    task_complete(task=task, actor=patient)
    first = task.completed_at
    task_complete(task=task, actor=patient)
    task.refresh_from_db()
    assert task.status == PatientTask.Status.COMPLETED
    assert task.completed_at == first


@pytest.mark.django_db
def test_unknown_template_is_refused_and_a_patient_without_phone_does_not_block_others(
    ny_patient, make_patient
):
    from engagement.services.templates import TemplateMissingError

    with pytest.raises(TemplateMissingError):
        reminder_create(
            patient=ny_patient, title="x", starts_at=START, template_key="nope", actor=ACTOR
        )
    no_phone = make_patient(phone="")
    reminder_create(patient=no_phone, title="x", starts_at=START, actor=ACTOR)
    reminder_create(patient=ny_patient, title="y", starts_at=START, actor=ACTOR)
    assert reminders_dispatch_due(now=START + timedelta(minutes=1)) == 2
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_beat_schedules_are_seeded():
    from django_celery_beat.models import PeriodicTask

    tasks = set(PeriodicTask.objects.filter(enabled=True).values_list("task", flat=True))
    assert {
        "engagement.tasks.dispatch_due_reminders",
        "engagement.tasks.release_deferred_messages",
        "engagement.tasks.start_due_campaigns",
    } <= tasks
