"""Reminders and tasks for a clinic are only for that clinic's patients: the services check the
relationship (rbac's ``patient_clinic_require``), so no caller can skip it; the API answers 404."""

from datetime import UTC, datetime

import pytest

from careos.actors import system_actor
from engagement.models import PatientTask, Reminder
from engagement.services.reminders import reminder_create, task_create
from rbac.errors import PatientNotInClinic
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def outsider(make_patient, other_clinic) -> User:
    return grant(make_patient(), other_clinic, "patient")


def test_services_refuse_another_clinics_patient(clinic, outsider):
    with pytest.raises(PatientNotInClinic):
        reminder_create(patient=outsider, clinic=clinic, title="x", starts_at=START, actor=ACTOR)
    with pytest.raises(PatientNotInClinic):
        task_create(patient=outsider, clinic=clinic, title="x", actor=ACTOR)
    assert not Reminder.objects.exists() and not PatientTask.objects.exists()


def test_services_accept_the_clinics_own_patient(clinic, make_patient):
    patient = grant(make_patient(), clinic, "patient")
    task = task_create(patient=patient, clinic=clinic, title="Walk", actor=ACTOR)
    assert task.clinic == clinic


def test_staff_task_for_another_clinics_patient_is_404(clinic, outsider):
    admin = grant(User.objects.create(username="adm", kind=User.Kind.STAFF), clinic, "clinic_admin")
    client = SignedInAPIClient()
    client.force_login(admin)
    body = {"patientId": outsider.public_id, "clinicId": clinic.public_id, "title": "Walk"}
    response = client.post("/api/v1/engagement/tasks", body, format="json")
    assert response.status_code == 404
    assert not PatientTask.objects.exists()
