import pytest
from rest_framework.test import APIClient

from careos.actors import system_actor
from engagement.models import Campaign, OptOut, PatientTask, PushSubscription, Reminder
from engagement.services.messages import message_send
from engagement.services.reminders import task_create
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant

ACTOR = system_actor("tests")
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"


def client_for(user: User) -> APIClient:
    client = SignedInAPIClient()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(clinic, db):
    return grant(
        User.objects.create(username="admin1", kind=User.Kind.STAFF), clinic, "clinic_admin"
    )


@pytest.fixture
def clinic_patient(clinic, make_patient):
    return grant(make_patient(), clinic, "patient")


@pytest.mark.django_db
def test_anonymous_is_401_and_patient_role_is_403(clinic, clinic_patient):
    assert APIClient().get("/api/v1/engagement/campaigns").status_code == 401
    response = client_for(clinic_patient).get("/api/v1/engagement/campaigns")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_staff_creates_reminder_for_own_clinic_patient_only(
    admin_user, clinic, other_clinic, clinic_patient, make_patient
):
    client = client_for(admin_user)
    body = {
        "patientId": clinic_patient.public_id,
        "clinicId": clinic.public_id,
        "title": "Walk",
        "startsAt": "2030-01-01T09:00:00Z",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "relatedRef": "bkg_42",
    }
    response = client.post("/api/v1/engagement/reminders", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["id"].startswith("rem_")
    assert data["nextRunAt"] == "2030-01-07T09:00:00Z"  # the first Monday
    assert Reminder.objects.get(public_id=data["id"]).related_ref == "bkg_42"

    stranger = grant(make_patient(), other_clinic, "patient")
    response = client.post(
        "/api/v1/engagement/reminders", body | {"patientId": stranger.public_id}, format="json"
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/engagement/reminders", body | {"clinicId": other_clinic.public_id}, format="json"
    )
    assert response.status_code == 404
    bad = client.post("/api/v1/engagement/reminders", body | {"rrule": "FREQ=NEVER"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "rrule_invalid"


@pytest.mark.django_db
def test_template_api_refuses_undeclared_variables(admin_user):
    client = client_for(admin_user)
    body = {"key": "followup", "language": "es", "variables": ["name"], "body": "Hola {{ nme }}"}
    response = client.post("/api/v1/engagement/templates", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "template_invalid"
    response = client.post(
        "/api/v1/engagement/templates", body | {"body": "Hola {{ name }}"}, format="json"
    )
    assert response.status_code == 201
    preview = client.get(f"/api/v1/engagement/templates/{response.json()['id']}/preview")
    assert preview.json()["body"] == "Hola [name]"


@pytest.mark.django_db
def test_campaign_lifecycle_over_the_api(
    admin_user, clinic, other_clinic, django_capture_on_commit_callbacks
):
    client = client_for(admin_user)
    response = client.post(
        "/api/v1/engagement/campaigns",
        {
            "clinicId": clinic.public_id,
            "name": "Flu",
            "channel": "sms",
            "templateKey": "wellness_campaign",
            "segment": {"languages": ["en"], "consent": ""},
            "scheduledAt": "2099-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    campaign_id = response.json()["id"]
    launched = client.post(f"/api/v1/engagement/campaigns/{campaign_id}/launch")
    assert launched.json()["status"] == "scheduled"
    cancelled = client.post(f"/api/v1/engagement/campaigns/{campaign_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/engagement/campaigns/{campaign_id}/cancel")
    assert again.status_code == 409
    analytics = client.get(f"/api/v1/engagement/campaigns/{campaign_id}/analytics")
    assert analytics.json()["targeted"] == 0
    assert client.get(f"/api/v1/engagement/clinics/{clinic.public_id}/stats").status_code == 200

    other = Campaign.objects.create(clinic=other_clinic, name="x", template_key="reminder")
    assert client.get(f"/api/v1/engagement/campaigns/{other.public_id}").status_code == 404


@pytest.mark.django_db
def test_message_log_is_scoped_and_has_no_content(admin_user, clinic, other_clinic, clinic_patient):
    mine = message_send(
        channel="sms",
        recipient=clinic_patient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "x"},
        dedupe_key="1",
        actor=ACTOR,
        clinic=clinic,
    )
    message_send(
        channel="sms",
        recipient=clinic_patient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "x"},
        dedupe_key="2",
        actor=ACTOR,
        clinic=other_clinic,
    )
    response = client_for(admin_user).get("/api/v1/engagement/messages?status=queued")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [mine.public_id]
    assert "body" not in results[0] and "toAddress" not in results[0]


@pytest.mark.django_db
def test_patient_lists_and_completes_own_tasks(patient, make_patient):
    mine = task_create(patient=patient, title="Drink water", instructions="2 litres", actor=ACTOR)
    theirs = task_create(patient=make_patient(), title="Other", actor=ACTOR)
    client = client_for(patient)
    listed = client.get("/api/v1/me/tasks")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["results"]] == [mine.public_id]
    assert listed.json()["results"][0]["instructions"] == "2 litres"

    done = client.post(f"/api/v1/me/tasks/{mine.public_id}/complete")
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert client.post(f"/api/v1/me/tasks/{theirs.public_id}/complete").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == PatientTask.Status.OPEN
    assert APIClient().get("/api/v1/me/tasks").status_code == 401


@pytest.mark.django_db
def test_patient_push_subscription_and_preferences(patient):
    client = client_for(patient)
    response = client.post(
        "/api/v1/me/push-subscriptions",
        {"endpoint": "https://push.example.net/abc", "keys": {"p256dh": P256DH, "auth": AUTH}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert PushSubscription.objects.get().user == patient
    listed = client.get("/api/v1/me/push-subscriptions").json()["results"]
    assert [s["id"] for s in listed] == [response.json()["id"]]
    assert client.delete(f"/api/v1/me/push-subscriptions/{listed[0]['id']}").status_code == 204
    bad = client.post(
        "/api/v1/me/push-subscriptions",
        {"endpoint": "https://push.example.net/abc", "keys": {"p256dh": "x", "auth": AUTH}},
        format="json",
    )
    assert bad.status_code == 400

    assert client.get("/api/v1/me/messaging-preferences").json() == {
        "sms": True,
        "email": True,
        "push": True,
    }
    changed = client.patch("/api/v1/me/messaging-preferences", {"sms": False}, format="json")
    assert changed.json() == {"sms": False, "email": True, "push": True}
    assert OptOut.objects.get().channel == "sms"
    assert [o["channel"] for o in client.get("/api/v1/me/opt-outs").json()["results"]] == ["sms"]
    client.patch("/api/v1/me/messaging-preferences", {"sms": True}, format="json")
    assert not OptOut.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        (P256DH[:-1], AUTH),  # 64 bytes: not a P-256 key
        (P256DH.replace("_", "/"), AUTH),  # standard base64, not base64url
        (P256DH, AUTH + "A"),
    ],
)
def test_push_subscription_keys_are_base64url_of_the_right_length(patient, p256dh, auth):
    """Regression (schemathesis): the schema said any string; now it states the pattern."""
    response = client_for(patient).post(
        "/api/v1/me/push-subscriptions",
        {"endpoint": "https://push.example.net/abc", "keys": {"p256dh": p256dh, "auth": auth}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_a_push_endpoint_must_be_https_as_the_schema_says(patient):
    response = client_for(patient).post(
        "/api/v1/me/push-subscriptions",
        {"endpoint": "http://push.example.net/abc", "keys": {"p256dh": P256DH, "auth": AUTH}},
        format="json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["endpoint"]


@pytest.mark.django_db
def test_bad_filters_and_odd_ids_are_4xx(admin_user):
    client = client_for(admin_user)
    assert client.get("/api/v1/engagement/messages?status=bogus").status_code == 400
    assert client.get("/api/v1/engagement/messages?purpose=a%00b").status_code == 400
    assert client.get("/api/v1/engagement/templates?key=a%00b").status_code == 400
    assert client.get("/api/v1/engagement/campaigns/cmp_%00x").status_code == 404
    assert client.get("/api/v1/engagement/messages?campaignId=cmp_x").status_code == 200
