import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.urls import reverse

from careos.actors import Actor
from rbac import services
from rbac.models import AuditEvent, Clinic, ConsentRecord, Membership, Role, User
from tests.clients import SignedInClient

pytestmark = pytest.mark.django_db

MODELS = ["user", "clinic", "role", "membership", "consentrecord", "auditevent"]


@pytest.fixture
def root(make_user) -> User:
    return make_user(is_superuser=True, is_staff=True, username="root")


@pytest.fixture
def admin_client(root: User) -> Client:
    client = SignedInClient()
    client.force_login(root)
    return client


@pytest.fixture
def populated(clinic_a: Clinic, clinic_b: Clinic, make_user, actor: Actor) -> dict:
    """Enough rows of each kind that a query per row would show in the counts."""
    patients = []
    for n in range(8):
        clinic = clinic_a if n % 2 else clinic_b
        patient = make_user(User.Kind.PATIENT, phone=f"+1212555{n:04d}", email=f"p{n}@example.com")
        services.membership_grant(
            user=patient,
            clinic=clinic,
            role=Role.objects.get(clinic=clinic, slug="patient"),
            actor=actor,
        )
        services.consent_record(
            patient=patient,
            consent_type="partner_referral",
            text="I agree.",
            language="en",
            clinic=clinic,
            source_platform="businessos",
            actor=actor,
        )
        services.audit_record(actor=actor, action="patient.viewed", patient=patient, clinic=clinic)
        patients.append(patient)
    return {"patients": patients}


def changelist(model: str) -> str:
    return reverse(f"admin:rbac_{model}_changelist")


@pytest.mark.parametrize("model", MODELS)
def test_changelists_load_with_bounded_queries(
    admin_client: Client, populated: dict, model: str, django_assert_max_num_queries
):
    # A bound, not a count per row (tests/rbac/test_console_matrix.py compares 1 and 3 rows):
    # the session, its second-factor device, the console's scoping and the page's PHI audit.
    with django_assert_max_num_queries(13):
        response = admin_client.get(changelist(model))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_pages_load(
    admin_client: Client, populated: dict, model: str, django_assert_max_num_queries
):
    patient = populated["patients"][1]
    obj = {
        "user": patient,
        "clinic": Clinic.objects.get(slug="clinic-a"),
        "role": Role.objects.get(clinic__slug="clinic-a", slug="clinic_admin"),
        "membership": Membership.objects.get(user=patient),
        "consentrecord": ConsentRecord.objects.get(patient=patient),
        "auditevent": AuditEvent.objects.filter(patient=patient).first(),
    }[model]
    with django_assert_max_num_queries(30):
        response = admin_client.get(reverse(f"admin:rbac_{model}_change", args=[obj.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["user", "membership", "consentrecord", "auditevent"])
@pytest.mark.parametrize("term", ["+1 (212) 555-0003", "P3@Example.com"])
def test_search_by_exact_phone_or_email(
    admin_client: Client, populated: dict, model: str, term: str
):
    patient = populated["patients"][3]
    response = admin_client.get(changelist(model), {"q": term})
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows, f"no {model} found for {term}"
    owner = {"user": lambda r: r, "membership": lambda r: r.user}.get(model, lambda r: r.patient)
    assert {owner(row).pk for row in rows} == {patient.pk}


def test_search_never_matches_partial_phone(admin_client: Client, populated: dict):
    response = admin_client.get(changelist("user"), {"q": "555-0003"})
    assert list(response.context["cl"].result_list) == []


def test_viewing_a_patient_in_admin_is_audited(admin_client: Client, root: User, patient_a: User):
    response = admin_client.get(reverse("admin:rbac_user_change", args=[patient_a.pk]))
    assert response.status_code == 200
    assert b"+12125550101" in response.content  # decrypted for the operator
    event = AuditEvent.objects.get(action="phi.viewed", patient=patient_a)
    assert event.actor_user == root and event.reason == "admin change view"
    assert event.target_ref == patient_a.public_id
    assert f"?patient={patient_a.public_id}".encode() in response.content


def test_audit_log_is_read_only(admin_client: Client, populated: dict):
    event = AuditEvent.objects.first()
    assert admin_client.get(reverse("admin:rbac_auditevent_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:rbac_auditevent_change", args=[event.pk]), {"action": "tampered"}
    )
    assert response.status_code == 403
    assert (
        admin_client.post(
            reverse("admin:rbac_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_audit_log_filters_by_patient_actor_action_and_date(
    admin_client: Client, populated: dict, actor: Actor
):
    patient = populated["patients"][2]
    url = changelist("auditevent")
    rows = admin_client.get(url, {"patient": patient.public_id}).context["cl"].result_list
    assert {r.patient_id for r in rows} == {patient.pk}
    rows = (
        admin_client.get(url, {"actor": actor.ref, "action": "consent.recorded"})
        .context["cl"]
        .result_list
    )
    assert len(rows) == 8
    event = AuditEvent.objects.first()
    day = event.occurred_at
    response = admin_client.get(
        url,
        {
            "occurred_at__year": day.year,
            "occurred_at__month": day.month,
            "occurred_at__day": day.day,
        },
    )
    assert response.status_code == 200 and len(response.context["cl"].result_list) > 0


def test_add_clinic_in_admin_clones_roles(admin_client: Client):
    response = admin_client.post(
        reverse("admin:rbac_clinic_add"),
        {
            "name": "Admin Clinic",
            "slug": "admin-clinic",
            "timezone": "America/New_York",
            "languages": '["en", "fr"]',
            "regions": '["ny"]',
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content
    clinic = Clinic.objects.get(slug="admin-clinic")
    assert clinic.regions == ["NY"] and clinic.roles.count() == 6


def test_add_clinic_with_bad_timezone_shows_error(admin_client: Client):
    response = admin_client.post(
        reverse("admin:rbac_clinic_add"),
        {
            "name": "Bad",
            "slug": "bad",
            "timezone": "Nowhere/Town",
            "languages": "[]",
            "regions": "[]",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert not Clinic.objects.filter(slug="bad").exists()


def test_membership_add_uses_service_and_checks_role_clinic(
    admin_client: Client, make_user, clinic_a: Clinic, clinic_b: Clinic
):
    user = make_user()
    url = reverse("admin:rbac_membership_add")
    wrong = Role.objects.get(clinic=clinic_b, slug="billing")
    response = admin_client.post(url, {"user": user.pk, "clinic": clinic_a.pk, "role": wrong.pk})
    assert response.status_code == 200 and not Membership.objects.filter(user=user).exists()
    right = Role.objects.get(clinic=clinic_a, slug="billing")
    response = admin_client.post(url, {"user": user.pk, "clinic": clinic_a.pk, "role": right.pk})
    assert response.status_code == 302
    assert Membership.objects.get(user=user).role == right
    assert AuditEvent.objects.filter(
        action="membership.granted", target_ref=user.public_id
    ).exists()


def test_membership_revoke_action(admin_client: Client, agent_a: User):
    membership = Membership.objects.get(user=agent_a)
    response = admin_client.post(
        changelist("membership"),
        {"action": "revoke_memberships", ACTION_CHECKBOX_NAME: [membership.pk]},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active
    assert AuditEvent.objects.filter(action="membership.revoked").count() == 1


def test_consent_revoke_action_asks_for_a_reason(admin_client: Client, populated: dict, root: User):
    consent = ConsentRecord.objects.filter(patient=populated["patients"][0]).get()
    url = changelist("consentrecord")
    data = {"action": "revoke_consents", ACTION_CHECKBOX_NAME: [consent.pk]}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert b"Reason" in response.content and consent.public_id.encode() in response.content
    assert ConsentRecord.objects.get(pk=consent.pk).status == "confirmed"

    response = admin_client.post(url, {**data, "apply": "1", "reason": ""})
    assert response.status_code == 200  # the reason is required
    assert ConsentRecord.objects.get(pk=consent.pk).status == "confirmed"

    response = admin_client.post(
        url, {**data, "apply": "1", "reason": "Patient called to withdraw"}
    )
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "revoked" and consent.revocation_reason == "Patient called to withdraw"
    assert consent.revoked_by == root.public_id
    assert AuditEvent.objects.filter(action="consent.revoked", actor_user=root).count() == 1


def test_consent_has_no_add_or_delete(admin_client: Client, populated: dict):
    consent = ConsentRecord.objects.first()
    assert admin_client.get(reverse("admin:rbac_consentrecord_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:rbac_consentrecord_delete", args=[consent.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()


def test_role_templates_are_platform_only_and_clinic_admins_edit_their_roles(
    make_user, clinic_a: Clinic, actor: Actor
):
    staff = make_user(is_staff=True)
    services.membership_grant(
        user=staff,
        clinic=clinic_a,
        role=Role.objects.get(clinic=clinic_a, slug="clinic_admin"),
        actor=actor,
    )
    client = SignedInClient()
    client.force_login(staff)
    template = Role.objects.get(clinic=None, slug="patient")
    clone = Role.objects.get(clinic=clinic_a, slug="patient")
    url = reverse("admin:rbac_role_change", args=[template.pk])
    assert client.get(url).status_code == 404  # templates shape every clinic: platform only
    assert client.post(url, {"name": "Hacked"}).status_code == 404
    response = client.post(
        reverse("admin:rbac_role_change", args=[clone.pk]),
        {"name": "Patient (A)", "description": "", "permissions": []},
    )
    assert response.status_code == 302
    clone.refresh_from_db()
    assert clone.name == "Patient (A)" and clone.permissions.count() == 0
    assert Role.objects.get(pk=template.pk).name == "Patient"
    assert AuditEvent.objects.filter(action="role.changed", target_ref=clone.public_id).exists()


def test_edit_user_phone_in_admin_updates_blind_index(admin_client: Client, patient_a: User):
    url = reverse("admin:rbac_user_change", args=[patient_a.pk])
    response = admin_client.post(
        url,
        {
            "username": patient_a.username,
            "kind": "patient",
            "first_name": "Ana",
            "last_name": "Diaz",
            "email": "ana@example.com",
            "phone": "+12125559999",
            "date_of_birth": "1980-02-03",
            "preferred_language": "es",
            "region": "NY",
            "timezone": "America/New_York",
            "source": "",
            "source_lead_id": "",
            "location_state": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = User.objects.get(pk=patient_a.pk)
    assert (stored.phone, stored.first_name, stored.preferred_language) == (
        "+12125559999",
        "Ana",
        "es",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, first_name FROM rbac_user WHERE id = %s", [patient_a.pk])
        stored_phone, stored_name = cursor.fetchone()
    assert "9999" not in stored_phone and stored_name != "Ana"  # ciphertext at rest
    rows = admin_client.get(changelist("user"), {"q": "+12125559999"}).context["cl"].result_list
    assert [u.pk for u in rows] == [patient_a.pk]
    assert not admin_client.get(changelist("user"), {"q": "+12125550101"}).context["cl"].result_list
    event = AuditEvent.objects.get(action="user.changed", target_ref=patient_a.public_id)
    assert "phone" in event.metadata["fields"] and "+1212" not in str(event.metadata)
