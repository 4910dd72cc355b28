"""Clinical free text stays encrypted at rest: reminder and task titles, and the response
bodies the Idempotency-Key cache keeps for replays (a task's instructions with a diagnosis).
The key rotation command covers them."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from careos.actors import system_actor
from careos.encryption_rotation import encrypted_models
from careos.models import IdempotencyRecord
from engagement.models import PatientTask, Reminder
from engagement.services.reminders import reminder_create, task_create
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
DIAGNOSIS = "Type 2 diabetes: check HbA1c"


def raw(model, pk, column: str) -> str:  # type: ignore[no-untyped-def]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return str(cursor.fetchone()[0])


@pytest.fixture
def staff_client(clinic) -> APIClient:
    admin = grant(User.objects.create(username="adm", kind=User.Kind.STAFF), clinic, "clinic_admin")
    client = SignedInAPIClient()
    client.force_login(admin)
    return client


def test_reminder_and_task_titles_are_encrypted(patient):
    reminder = reminder_create(
        patient=patient, title=DIAGNOSIS, starts_at=datetime(2030, 1, 1, tzinfo=UTC), actor=ACTOR
    )
    task = task_create(patient=patient, title=DIAGNOSIS, actor=ACTOR)
    for model, pk in ((Reminder, reminder.pk), (PatientTask, task.pk)):
        stored = raw(model, pk, "title")
        assert "diabetes" not in stored
        assert model.objects.get(pk=pk).title == DIAGNOSIS
        assert str(model.objects.get(pk=pk)) == model.objects.get(pk=pk).public_id


def test_a_replayed_response_is_stored_encrypted(staff_client, clinic, make_patient):
    patient = grant(make_patient(), clinic, "patient")
    body = {
        "patientId": patient.public_id,
        "clinicId": clinic.public_id,
        "title": "Lab work",
        "instructions": DIAGNOSIS,
    }
    first = staff_client.post(
        "/api/v1/engagement/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY="task-1"
    )
    assert first.status_code == 201, first.content

    record = IdempotencyRecord.objects.get()
    stored = raw(IdempotencyRecord, record.pk, "response_body")
    assert "diabetes" not in stored and "Lab work" not in stored
    assert record.response_body["instructions"] == DIAGNOSIS

    again = staff_client.post(
        "/api/v1/engagement/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY="task-1"
    )
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert PatientTask.objects.count() == 1


def test_key_rotation_covers_the_new_encrypted_fields(settings, staff_client, clinic, make_patient):
    covered = {(model._meta.label, name) for model, names in encrypted_models() for name in names}
    assert {
        ("careos.IdempotencyRecord", "response_body"),
        ("engagement.Reminder", "title"),
        ("engagement.PatientTask", "title"),
    } <= covered

    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    patient = grant(make_patient(), clinic, "patient")
    body = {"patientId": patient.public_id, "clinicId": clinic.public_id, "title": DIAGNOSIS}
    first = staff_client.post(
        "/api/v1/engagement/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY="task-2"
    )
    assert first.status_code == 201
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys", stdout=StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything still reads
    record = IdempotencyRecord.objects.get()
    task = PatientTask.objects.get()
    assert Fernet(new_key).decrypt(raw(IdempotencyRecord, record.pk, "response_body").encode())
    title = raw(PatientTask, task.pk, "title")
    assert Fernet(new_key).decrypt(title.encode()).decode() == DIAGNOSIS
    again = staff_client.post(
        "/api/v1/engagement/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY="task-2"
    )
    assert again.json() == first.json()
