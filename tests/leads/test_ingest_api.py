"""POST /api/v1/leads/ingest: the seed's Testing Checklist and the issue's acceptance list."""

import base64
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.db.models.signals import pre_save
from django.test import Client
from django.utils import timezone

from careos.actors import system_actor
from engagement.models import Message
from leads.models import IngestFailureCount, Lead, LeadEncryptionKey
from leads.services.keys import encryption_key_create
from partners.models import PartnerApplication, PlatformEvent
from partners.services import applications as apps
from rbac.models import AuditEvent, ConsentRecord, User
from rbac.services import user_create
from tests.infra import worker_task_names
from tests.leads.conftest import PHONE
from tests.leads.partner_example import encrypt_phone, phone_hash
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/leads/ingest"
PROBLEM = "application/problem+json"


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "leads": Lead.objects.count(),
        "consents": ConsentRecord.objects.count(),
        "audit": AuditEvent.objects.count(),
        "events": PlatformEvent.objects.count(),
        "messages": Message.objects.count(),
    }


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    return body


# --- valid request: user, lead, consent, event, welcome SMS ---------------------------------


def test_valid_request_creates_patient_lead_consent_event_and_welcome(
    ingest_client, make_payload, lead_partner, django_capture_on_commit_callbacks
):
    payload = make_payload()
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(INGEST, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"leadId", "status", "welcomeMessageQueued"}
    assert body["leadId"].startswith("lead_")
    assert body["status"] == "new"
    assert body["welcomeMessageQueued"] is True
    assert response["Location"] == f"/api/v1/leads/{body['leadId']}"

    lead = Lead.objects.get(public_id=body["leadId"])
    assert lead.partner == lead_partner
    assert lead.source_platform == "businessos"
    assert lead.source_lead_id == payload["sourceLeadId"]
    assert lead.business_category == "caregiver"
    assert lead.healthcare_category == "home_care"
    assert lead.status == "new"
    assert (lead.first_name, lead.last_name) == ("Maria", "Lopez")
    assert lead.need == "Need caregiver for mom"
    assert lead.location_state == "CA" and lead.country == "US" and lead.language == "en"
    assert lead.encryption_kid == payload["keyId"]

    patient = lead.patient
    assert patient.kind == User.Kind.PATIENT
    assert patient.phone == PHONE  # decrypted and normalised
    assert patient.source == "businessos_referral"
    assert patient.source_lead_id == payload["sourceLeadId"]
    assert patient.location_state == "CA"
    with connection.cursor() as cursor:  # PHI encrypted at rest
        cursor.execute("SELECT phone FROM rbac_user WHERE id = %s", [patient.pk])
        assert PHONE not in cursor.fetchone()[0]
        cursor.execute("SELECT need, first_name FROM leads_lead WHERE id = %s", [lead.pk])
        need, first = cursor.fetchone()
        assert "caregiver" not in need and "Maria" not in first

    consent = lead.consent
    assert consent.patient == patient
    assert consent.consent_type == ConsentRecord.Type.PARTNER_REFERRAL
    assert consent.status == ConsentRecord.Status.CONFIRMED
    assert consent.source_platform == "businessos"
    assert consent.text == payload["consent"]["text"]
    assert consent.language == "en"
    assert consent.method == "sms"
    assert consent.given_at is not None
    assert consent.scope["leadId"] == lead.public_id
    assert "BusinessOS may share" in consent.scope["statement"]

    event = PlatformEvent.objects.get(event_type__name="lead.created")
    assert event.owner == lead_partner
    assert event.payload == {
        "leadId": lead.public_id,
        "sourceLeadId": payload["sourceLeadId"],
        "status": "new",
        "healthcareCategory": "home_care",
    }
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"lead.created", "consent.recorded", "user.created"} <= actions
    audit = AuditEvent.objects.get(action="lead.created")
    assert audit.partner_ref == lead_partner.public_id and audit.patient == patient

    message = Message.objects.get(purpose="welcome_from_referral")
    assert message.channel == "sms" and message.recipient == patient
    assert message.to_address == PHONE
    assert message.language == "en"
    assert message.body.startswith("Welcome to CareOS, Maria! BusinessOS connected you")
    assert message.status == "sent"  # delivered by the console SMS transport (eager Celery)
    assert lead.welcome_message_ref == message.public_id


def test_seed_path_is_served_too(ingest_client, make_payload):
    response = ingest_client.post("/api/leads/ingest", make_payload(), format="json")
    assert response.status_code == 201, response.content
    assert Lead.objects.filter(public_id=response.json()["leadId"]).exists()


def test_oauth_token_with_write_leads(api_client, lead_partner, encryption_key, make_payload):
    application = apps.application_create(
        partner=lead_partner,
        name="Lead sender",
        client_type="confidential",
        grant_type="client-credentials",
        redirect_uris=[],
        requested_scopes=["write:leads"],
        actor=system_actor("tests"),
    )
    PartnerApplication.objects.filter(pk=application.pk).update(status="in_review")
    approved = apps.application_approve(application=application, actor=system_actor("tests"))
    basic = base64.b64encode(f"{approved.client_id}:{approved.client_secret}".encode()).decode()
    token = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert token.status_code == 200, token.content
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")
    response = api_client.post(INGEST, make_payload(), format="json")
    assert response.status_code == 201, response.content


# --- authentication, scope, rate limit --------------------------------------------------------


def test_invalid_api_key_is_401_and_writes_nothing(api_client, make_payload):
    before = _counts()
    api_client.credentials(HTTP_X_API_KEY="ck_live_" + "x" * 40, HTTP_X_PLATFORM="businessos")
    _problem(api_client.post(INGEST, make_payload(), format="json"), 401, "credentials_invalid")
    api_client.credentials()
    _problem(api_client.post(INGEST, make_payload(), format="json"), 401, "credentials_missing")
    assert _counts() == before


def test_platform_mismatch_and_missing_scope_are_403(
    partner_api_client, lead_partner, make_payload
):
    wrong_platform = partner_api_client(partner=lead_partner, platform="someone-else")
    _problem(wrong_platform.post(INGEST, make_payload(), format="json"), 403, "platform_mismatch")
    read_only = partner_api_client(partner=lead_partner, scopes=["read:leads"])
    body = _problem(
        read_only.post(INGEST, make_payload(), format="json"), 403, "insufficient_scope"
    )
    assert body["requiredScope"] == "write:leads"
    assert Lead.objects.count() == 0


def test_rate_limit_per_partner(settings, partner_api_client, lead_partner, make_payload):
    settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE = 2
    settings.PARTNER_RATE_LIMIT_WINDOW_SECONDS = 3600  # no window boundary inside the test
    first = partner_api_client(partner=lead_partner)
    second = partner_api_client(partner=lead_partner)  # another key of the same partner
    assert first.post(INGEST, make_payload(), format="json").status_code == 201
    assert second.post(INGEST, make_payload(), format="json").status_code == 201
    body = _problem(second.post(INGEST, make_payload(), format="json"), 429, "rate_limited")
    assert body["retryAfter"] >= 1
    assert Lead.objects.count() == 2
    # The ingest bucket is its own: the partner's other endpoints are not limited by it.
    assert first.get("/api/v1/leads").status_code == 200


def test_default_limit_is_100_per_minute(settings):
    assert settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE == 100


# --- validation -------------------------------------------------------------------------------


def test_missing_fields_list_each_field(ingest_client):
    before = _counts()
    body = _problem(ingest_client.post(INGEST, {}, format="json"), 400, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {
        "sourceLeadId",
        "encryptedPhone",
        "keyId",
        "phoneHash",
        "businessCategory",
    }
    assert _counts() == before


def test_malformed_values_are_validation_errors(ingest_client, make_payload):
    payload = make_payload(phoneHash="not-hex", country="USA")
    payload["consent"]["timestamp"] = "yesterday"
    body = _problem(ingest_client.post(INGEST, payload, format="json"), 400, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"phoneHash", "country", "consent.timestamp"}
    broken = ingest_client.post(INGEST, "{", content_type="application/json")
    _problem(broken, 400, "malformed_request")


def test_a_consent_given_ahead_of_the_clock_is_refused_with_its_own_code(
    ingest_client, make_payload
):
    payload = make_payload()
    payload["consent"]["timestamp"] = (timezone.now() + timedelta(hours=1)).isoformat()
    before = _counts()
    body = _problem(ingest_client.post(INGEST, payload, format="json"), 400, "validation_error")
    assert body["errors"] == [
        {
            "field": "consent.timestamp",
            "code": "in_future",
            "message": "The consent cannot be given in the future.",
        }
    ]
    assert _counts() == before


# --- decryption, keys, hash, phone ------------------------------------------------------------


def test_phone_decryption_normalises_to_e164(ingest_client, make_payload):
    # The partner encrypted a national format; the hash is of the E.164 form.
    payload = make_payload(phone="(202) 555-0143", hashed=phone_hash(PHONE))
    response = ingest_client.post(INGEST, payload, format="json")
    assert response.status_code == 201, response.content
    assert Lead.objects.get().patient.phone == PHONE


def test_hash_of_the_unnormalised_number_is_refused(ingest_client, make_payload):
    payload = make_payload(phone="(202) 555-0143", hashed=phone_hash("(202) 555-0143"))
    before = _counts()
    body = _problem(ingest_client.post(INGEST, payload, format="json"), 422, "phone_hash_mismatch")
    assert PHONE not in str(body) and "0143" not in body["detail"]
    assert _counts() == before


def test_phone_hash_mismatch(ingest_client, make_payload):
    payload = make_payload(hashed=phone_hash("+12025550199"))
    _problem(ingest_client.post(INGEST, payload, format="json"), 422, "phone_hash_mismatch")
    uppercase = make_payload(hashed=phone_hash(PHONE).upper())  # hex case does not matter
    assert ingest_client.post(INGEST, uppercase, format="json").status_code == 201


def test_invalid_phone(ingest_client, make_payload):
    payload = make_payload(phone="12345", hashed=phone_hash("12345"))
    _problem(ingest_client.post(INGEST, payload, format="json"), 422, "phone_invalid")
    assert Lead.objects.count() == 0


def test_tampered_ciphertext_is_decryption_failed(ingest_client, make_payload):
    payload = make_payload()
    raw = bytearray(base64.b64decode(payload["encryptedPhone"]))
    raw[10] ^= 0x01
    payload["encryptedPhone"] = base64.b64encode(bytes(raw)).decode()
    before = _counts()
    body = _problem(ingest_client.post(INGEST, payload, format="json"), 422, "decryption_failed")
    assert body["detail"] == "The encrypted phone could not be decrypted."
    not_base64 = make_payload(encryptedPhone="%%%not base64%%%")
    _problem(ingest_client.post(INGEST, not_base64, format="json"), 422, "decryption_failed")
    assert _counts() == before


def test_unknown_kid_and_another_partners_kid(ingest_client, make_payload):
    _problem(
        ingest_client.post(INGEST, make_payload(keyId="nope-1"), format="json"),
        422,
        "unknown_key_id",
    )
    other_key = encryption_key_create(partner=PartnerFactory(), actor=system_actor("t")).key
    payload = make_payload(key=other_key)
    _problem(ingest_client.post(INGEST, payload, format="json"), 422, "unknown_key_id")
    assert Lead.objects.count() == 0


def test_rotated_key_decrypts_within_grace_and_not_after(
    ingest_client, make_payload, lead_partner, encryption_key, time_machine
):
    rotated = encryption_key_create(
        partner=lead_partner, grace=timedelta(days=7), actor=system_actor("tests")
    )
    assert rotated.retired == encryption_key
    old = make_payload(key=encryption_key)
    new = make_payload(key=rotated.key)
    assert ingest_client.post(INGEST, old, format="json").status_code == 201
    assert ingest_client.post(INGEST, new, format="json").status_code == 201
    time_machine.move_to(timezone.now() + timedelta(days=7, seconds=1))
    late = make_payload(key=encryption_key)
    _problem(ingest_client.post(INGEST, late, format="json"), 422, "unknown_key_id")
    assert (
        ingest_client.post(INGEST, make_payload(key=rotated.key), format="json").status_code == 201
    )


def test_decryption_failures_are_counted_per_partner(ingest_client, make_payload, lead_partner):
    for _ in range(2):
        ingest_client.post(INGEST, make_payload(encryptedPhone="AAAA"), format="json")
    ingest_client.post(INGEST, make_payload(keyId="gone"), format="json")
    ingest_client.post(INGEST, make_payload(hashed="0" * 64), format="json")
    counts = {
        row.code: row.count for row in IngestFailureCount.objects.filter(partner=lead_partner)
    }
    assert counts == {"decryption_failed": 2, "unknown_key_id": 1, "phone_hash_mismatch": 1}
    assert Lead.objects.count() == 0


def test_failures_are_counted_with_an_idempotency_key(ingest_client, make_payload, lead_partner):
    payload = make_payload(encryptedPhone="AAAA")
    response = ingest_client.post(INGEST, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-fail")
    _problem(response, 422, "decryption_failed")
    assert IngestFailureCount.objects.get(partner=lead_partner).count == 1


# --- consent ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "consent",
    [
        None,
        {"given": False, "text": "Share?", "timestamp": "2026-11-01T10:00:00Z"},
        {"given": True, "text": "", "timestamp": "2026-11-01T10:00:00Z"},
        {"given": True, "text": "Share?"},
    ],
    ids=["missing", "not-given", "no-text", "no-timestamp"],
)
def test_consent_is_required(ingest_client, make_payload, consent):
    payload = make_payload(consent=consent)
    if consent is None:
        del payload["consent"]
    before = _counts()
    _problem(ingest_client.post(INGEST, payload, format="json"), 422, "consent_required")
    assert _counts() == before


# --- duplicates and idempotency ---------------------------------------------------------------


def test_repeated_source_lead_id_returns_the_original_and_changes_nothing(
    ingest_client, make_payload
):
    payload = make_payload()
    first = ingest_client.post(INGEST, payload, format="json")
    assert first.status_code == 201
    before = _counts()
    changed = make_payload(
        sourceLeadId=payload["sourceLeadId"], phone="+12025550188", businessCategory="dental"
    )
    again = ingest_client.post(INGEST, changed, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _counts() == before
    lead = Lead.objects.get()
    assert lead.business_category == "caregiver" and lead.patient.phone == PHONE


def test_same_source_lead_id_from_two_partners_is_two_leads(
    ingest_client, make_payload, partner_api_client
):
    payload = make_payload()
    assert ingest_client.post(INGEST, payload, format="json").status_code == 201
    other = PartnerFactory()
    key = encryption_key_create(partner=other, actor=system_actor("t")).key
    client = partner_api_client(partner=other)
    mine = make_payload(key=key, sourceLeadId=payload["sourceLeadId"])
    assert client.post(INGEST, mine, format="json").status_code == 201
    assert Lead.objects.count() == 2
    assert User.objects.filter(kind="patient").count() == 1  # the same person


def test_idempotency_key_replays_the_response(ingest_client, make_payload):
    payload = make_payload()
    first = ingest_client.post(INGEST, payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    second = ingest_client.post(INGEST, payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1
    reused = ingest_client.post(INGEST, make_payload(), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    _problem(reused, 422, "idempotency_key_reused")


# --- existing patients ------------------------------------------------------------------------


def test_existing_patient_keeps_an_earlier_source_and_gains_the_referral(
    ingest_client, make_payload
):
    earlier = user_create(
        kind="patient", phone=PHONE, source="carelink_referral", actor=system_actor("t")
    )
    response = ingest_client.post(INGEST, make_payload(), format="json")
    assert response.status_code == 201
    earlier.refresh_from_db()
    assert earlier.source == "carelink_referral"
    assert User.objects.filter(kind="patient").count() == 1
    assert Lead.objects.get().patient == earlier


def test_existing_patient_without_a_source_gets_this_one(ingest_client, make_payload):
    existing = user_create(kind="patient", phone=PHONE, actor=system_actor("t"))
    payload = make_payload()
    assert ingest_client.post(INGEST, payload, format="json").status_code == 201
    existing.refresh_from_db()
    assert existing.source == "businessos_referral"
    assert existing.source_lead_id == payload["sourceLeadId"]
    assert User.objects.filter(kind="patient").count() == 1


# --- category mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("business", "expected"),
    [
        ("caregiver", "home_care"),
        ("Assisted Living", "senior_living"),
        ("counseling", "mental_health"),
        ("physical-therapy", "physical_therapy"),
        ("bakery", "general"),
    ],
)
def test_category_mapping(ingest_client, make_payload, business, expected):
    response = ingest_client.post(INGEST, make_payload(businessCategory=business), format="json")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.healthcare_category == expected


# --- languages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "stored", "welcome", "statement"),
    [
        ("en", "en", "Welcome to CareOS, Maria!", "I agree that BusinessOS"),
        ("es", "es", "¡Bienvenido a CareOS, Maria!", "Acepto que BusinessOS"),
        ("es-MX", "es", "¡Bienvenido a CareOS, Maria!", "Acepto que BusinessOS"),
        ("fr", "fr", "Bienvenue sur CareOS, Maria !", "J'accepte que BusinessOS"),
        ("de", "en", "Welcome to CareOS, Maria!", "I agree that BusinessOS"),
    ],
)
def test_languages(
    ingest_client,
    make_payload,
    language,
    stored,
    welcome,
    statement,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(INGEST, make_payload(language=language), format="json")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.language == stored
    assert lead.patient.preferred_language == stored
    assert lead.consent.language == stored
    assert lead.consent.scope["statement"].startswith(statement)
    message = Message.objects.get(purpose="welcome_from_referral")
    assert message.language == stored
    assert message.body.startswith(welcome)


# --- welcome SMS edge cases ---------------------------------------------------------------------


def test_opted_out_phone_gets_no_welcome(
    ingest_client, make_payload, django_capture_on_commit_callbacks
):
    from engagement.services.optouts import optout_record

    optout_record(channel="sms", address=PHONE, actor=system_actor("t"), source="keyword")
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(INGEST, make_payload(), format="json")
    assert response.status_code == 201
    assert response.json()["welcomeMessageQueued"] is False
    assert not Message.objects.exists()


def test_welcome_in_quiet_hours_is_deferred_but_queued(
    settings, ingest_client, make_payload, time_machine, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_QUIET_HOURS_START, settings.ENGAGEMENT_QUIET_HOURS_END = "21:00", "08:00"
    time_machine.move_to("2026-11-20T23:30:00Z", tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(INGEST, make_payload(), format="json")
    assert response.status_code == 201
    assert response.json()["welcomeMessageQueued"] is True
    message = Message.objects.get()
    assert message.status == "deferred"
    assert message.send_after.isoformat() == "2026-11-21T08:00:00+00:00"


# --- a failure in any step leaves nothing behind ------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [User, ConsentRecord, Lead, AuditEvent, PlatformEvent],
    ids=lambda model: model.__name__,
)
def test_a_failing_write_in_any_step_leaves_no_rows(ingest_client, make_payload, model):
    """Each step's first write fails in turn (a database error at that insert): the request
    answers a generic 500 problem and every row the earlier steps wrote is gone."""

    def fail(sender, instance, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("injected failure")

    before = _counts()
    pre_save.connect(fail, sender=model, dispatch_uid="leads-test-fail")
    try:
        response = ingest_client.post(INGEST, make_payload(), format="json")
    finally:
        pre_save.disconnect(sender=model, dispatch_uid="leads-test-fail")
    body = _problem(response, 500, "internal_error")
    assert "injected" not in str(body)
    assert _counts() == before


def test_missing_welcome_template_still_creates_the_lead(
    ingest_client, make_payload, django_capture_on_commit_callbacks
):
    from engagement.models import MessageTemplate

    MessageTemplate.objects.filter(key="welcome_from_referral").delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = ingest_client.post(INGEST, make_payload(), format="json")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.welcome_message_ref, lead.welcome_message_queued) == ("", False)
    assert not Message.objects.exists()


def test_welcome_is_sent_after_commit_once_and_swept_if_lost(
    ingest_client, make_payload, time_machine, django_capture_on_commit_callbacks
):
    from leads.services.welcome import lead_welcome_send, leads_welcome_sweep

    # Committed, but the after-commit queueing never ran (a crash, a broker outage).
    response = ingest_client.post(INGEST, make_payload(), format="json")
    assert response.json()["welcomeMessageQueued"] is True
    lead = Lead.objects.get()
    assert lead.welcome_message_ref == "" and not Message.objects.exists()
    assert leads_welcome_sweep() == 0  # too recent: its after-commit task may still run
    time_machine.move_to(timezone.now() + timedelta(minutes=3))
    assert leads_welcome_sweep() == 1  # eager Celery: sent now
    lead.refresh_from_db()
    message = Message.objects.get()
    assert lead.welcome_message_ref == message.public_id
    lead_welcome_send(lead_id=lead.pk)  # a second run sends nothing
    assert Message.objects.count() == 1
    assert leads_welcome_sweep() == 0


def test_encrypt_helper_round_trips(encryption_key):
    from leads.services.keys import phone_decrypt

    ciphertext = encrypt_phone(PHONE, encryption_key.public_key_pem)
    assert (
        phone_decrypt(
            partner=encryption_key.partner, kid=encryption_key.kid, ciphertext_b64=ciphertext
        )
        == PHONE
    )
    assert LeadEncryptionKey.objects.count() == 1


def test_welcome_sweep_runs_on_a_beat_schedule():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="leads.tasks.welcome_sweep")
    assert task.enabled and task.interval.every == 300
    assert "leads.tasks.welcome_sweep" in worker_task_names()
