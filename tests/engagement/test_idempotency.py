"""Every creating POST of engagement's API honours ``Idempotency-Key``."""

import pytest
from rest_framework.test import APIClient

from engagement.models import Campaign, MessageTemplate, PatientTask, PushSubscription, Reminder
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant
from tests.engagement.test_api import AUTH, P256DH

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(clinic) -> APIClient:
    admin = grant(
        User.objects.create(username="admin1", kind=User.Kind.STAFF), clinic, "clinic_admin"
    )
    client = SignedInAPIClient()
    client.force_login(admin)
    return client


@pytest.fixture
def clinic_patient(clinic, make_patient) -> User:
    return grant(make_patient(), clinic, "patient")


def _staff_cases(clinic, patient) -> dict:
    return {
        "reminder": (
            "/api/v1/engagement/reminders",
            {
                "patientId": patient.public_id,
                "clinicId": clinic.public_id,
                "title": "Walk",
                "startsAt": "2030-01-01T09:00:00Z",
            },
            Reminder,
        ),
        "task": (
            "/api/v1/engagement/tasks",
            {"patientId": patient.public_id, "clinicId": clinic.public_id, "title": "Stretch"},
            PatientTask,
        ),
        "campaign": (
            "/api/v1/engagement/campaigns",
            {
                "clinicId": clinic.public_id,
                "name": "Flu",
                "channel": "sms",
                "templateKey": "wellness_campaign",
                "segment": {"languages": ["en"]},
            },
            Campaign,
        ),
        "template": (
            "/api/v1/engagement/templates",
            {"key": "idem_test", "language": "en", "variables": ["name"], "body": "Hi {{ name }}"},
            MessageTemplate,
        ),
    }


@pytest.mark.parametrize("case", ["reminder", "task", "campaign", "template"])
def test_staff_create_replays_with_the_same_key(case, admin_client, clinic, clinic_patient):
    url, body, model = _staff_cases(clinic, clinic_patient)[case]
    before = model.objects.count()
    headers = {"Idempotency-Key": f"create-{case}"}
    first = admin_client.post(url, body, format="json", headers=headers)
    assert first.status_code == 201, first.json()
    second = admin_client.post(url, body, format="json", headers=headers)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert model.objects.count() == before + 1


def test_reused_key_with_another_body_is_422_and_creates_nothing(
    admin_client, clinic, clinic_patient
):
    url, body, _ = _staff_cases(clinic, clinic_patient)["task"]
    headers = {"Idempotency-Key": "task-1"}
    assert admin_client.post(url, body, format="json", headers=headers).status_code == 201
    other = admin_client.post(url, body | {"title": "Other"}, format="json", headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert list(PatientTask.objects.values_list("title", flat=True)) == ["Stretch"]


def test_failed_create_stores_nothing_and_the_key_can_be_retried(
    admin_client, clinic, clinic_patient
):
    url, body, _ = _staff_cases(clinic, clinic_patient)["reminder"]
    headers = {"Idempotency-Key": "rem-1"}
    bad = admin_client.post(url, body | {"rrule": "NOT A RULE"}, format="json", headers=headers)
    assert bad.status_code == 400
    assert not Reminder.objects.exists()
    good = admin_client.post(url, body, format="json", headers=headers)
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good
    assert Reminder.objects.count() == 1


def test_push_subscription_register_replays(patient):
    client = SignedInAPIClient()
    client.force_login(patient)
    body = {"endpoint": "https://push.example.net/abc", "keys": {"p256dh": P256DH, "auth": AUTH}}
    headers = {"Idempotency-Key": "browser-1"}
    first = client.post("/api/v1/me/push-subscriptions", body, format="json", headers=headers)
    assert first.status_code == 201, first.json()
    second = client.post("/api/v1/me/push-subscriptions", body, format="json", headers=headers)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert PushSubscription.objects.filter(user=patient).count() == 1
