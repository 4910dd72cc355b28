"""The lead console: changelists without a query per row, PHI only with view_phi (audited),
pipeline actions, keys, category mapping and ingest failure counts."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.urls import reverse

from careos.actors import system_actor
from leads.models import CategoryMapping, IngestFailureCount, Lead, LeadEncryptionKey
from leads.services.pipeline import lead_contact, lead_qualify
from rbac import services
from rbac.models import AuditEvent, Role, User
from rbac.services import clinic_create, user_create
from tests.clients import SignedInClient
from tests.console import client_for, clinic_staff
from tests.leads.conftest import PHONE

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/leads/ingest"
ACTOR = system_actor("tests")


@pytest.fixture
def root_client() -> Client:
    client = SignedInClient()
    client.force_login(User.objects.create_superuser(username="root", password=None))
    return client


@pytest.fixture
def leads(ingest_client, make_payload) -> list[Lead]:
    for index in range(6):
        business = "caregiver" if index % 2 else "dental"
        payload = make_payload(
            phone=f"+1202555{index:04d}", businessCategory=business, locationState="CA"
        )
        assert ingest_client.post(INGEST, payload, format="json").status_code == 201
    return list(Lead.objects.order_by("pk"))


def test_changelist_filters_and_no_query_per_row(root_client, leads, django_assert_max_num_queries):
    url = reverse("admin:leads_lead_changelist")
    with django_assert_max_num_queries(12):
        response = root_client.get(url)
    assert response.status_code == 200
    for lead in leads:
        assert lead.public_id in response.content.decode()
    assert PHONE not in response.content.decode()
    filtered = root_client.get(url, {"healthcare_category": "dental", "status": "new"})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 3
    for query in (
        {"partner__id__exact": leads[0].partner_id},
        {"location_state": "CA"},
        {"created_at__gte": "2000-01-01"},
        {"q": leads[0].source_lead_id},
    ):
        assert root_client.get(url, query).status_code == 200
    assert root_client.get(url, {"q": leads[0].source_lead_id}).context["cl"].result_count == 1


def test_phi_shown_and_audited_only_with_view_phi_in_the_leads_clinic(leads):
    lead = leads[1]
    clinic = clinic_create(
        name="Sunrise", slug="sunrise", timezone="UTC", languages=["en"], regions=[], actor=ACTOR
    )
    other = clinic_create(
        name="Other", slug="other", timezone="UTC", languages=["en"], regions=[], actor=ACTOR
    )
    Lead.objects.filter(pk=lead.pk).update(assigned_clinic=clinic)
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    without = client_for(clinic_staff(clinic, ["leads.view_lead"], username="no-phi"))
    response = without.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert lead.patient.phone not in body and "caregiver for mom" not in body
    assert not AuditEvent.objects.filter(action="phi.viewed").exists()

    # rbac.view_phi is a clinic role's permission: held in another clinic, it shows nothing.
    elsewhere = clinic_staff(other, ["rbac.view_phi"], username="phi-elsewhere")
    services.membership_grant(
        user=elsewhere,
        clinic=clinic,
        role=Role.objects.get(clinic=clinic, slug="no-phi-role"),
        actor=ACTOR,
    )
    body = client_for(elsewhere).get(url).content.decode()
    assert lead.patient.phone not in body and "caregiver for mom" not in body

    allowed = client_for(clinic_staff(clinic, ["leads.view_lead", "rbac.view_phi"], username="phi"))
    body = allowed.get(url).content.decode()
    assert lead.patient.phone in body and "Need caregiver for mom" in body and "Maria" in body
    audit = AuditEvent.objects.get(action="phi.viewed")
    assert audit.target_ref == lead.public_id and audit.patient == lead.patient
    assert audit.clinic == clinic


def test_transition_actions(root_client, leads):
    url = reverse("admin:leads_lead_changelist")
    first, second = leads[0], leads[1]
    response = root_client.post(
        url, {"action": "mark_contacted", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}
    )
    assert response.status_code == 302
    assert set(
        Lead.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {"contacted"}
    root_client.post(url, {"action": "mark_qualified", ACTION_CHECKBOX_NAME: [first.pk]})
    # An action that does not apply is reported, not applied.
    root_client.post(url, {"action": "mark_converted", ACTION_CHECKBOX_NAME: [second.pk]})
    assert Lead.objects.get(pk=second.pk).status == "contacted"

    # assign: an intermediate form, then the service.
    clinic = clinic_create(
        name="Sunrise",
        slug="sunrise",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=system_actor("t"),
    )
    form = root_client.post(url, {"action": "assign", ACTION_CHECKBOX_NAME: [first.pk]})
    assert form.status_code == 200 and b"clinic" in form.content
    done = root_client.post(
        url,
        {"action": "assign", "apply": "1", "clinic": clinic.pk, ACTION_CHECKBOX_NAME: [first.pk]},
    )
    assert done.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.assigned_clinic) == ("assigned", clinic)
    root_client.post(url, {"action": "mark_converted", ACTION_CHECKBOX_NAME: [first.pk]})
    assert Lead.objects.get(pk=first.pk).status == "converted"

    root_client.post(
        url,
        {
            "action": "mark_lost",
            "apply": "1",
            "reason": "not_interested",
            "note": "found care elsewhere",
            ACTION_CHECKBOX_NAME: [second.pk],
        },
    )
    second.refresh_from_db()
    assert (second.status, second.lost_reason) == ("lost", "not_interested")
    assert AuditEvent.objects.filter(action="lead.lost", target_ref=second.public_id).exists()


def test_failure_counts_in_admin(root_client, ingest_client, make_payload, lead_partner):
    for _ in range(3):
        ingest_client.post(INGEST, make_payload(encryptedPhone="AAAA"), format="json")
    response = root_client.get(
        reverse("admin:leads_ingestfailurecount_changelist"), {"code": "decryption_failed"}
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    row = IngestFailureCount.objects.get(partner=lead_partner, code="decryption_failed")
    assert row.count == 3
    assert lead_partner.name in response.content.decode()


def test_key_admin_never_shows_the_private_key_and_rotates(root_client, encryption_key):
    url = reverse("admin:leads_leadencryptionkey_change", args=[encryption_key.pk])
    body = root_client.get(url).content.decode()
    assert "BEGIN PUBLIC KEY" in body and "PRIVATE KEY" not in body
    root_client.post(
        reverse("admin:leads_leadencryptionkey_changelist"),
        {"action": "rotate", ACTION_CHECKBOX_NAME: [encryption_key.pk]},
    )
    encryption_key.refresh_from_db()
    assert encryption_key.retired_at is not None
    assert LeadEncryptionKey.objects.filter(retired_at__isnull=True).count() == 1


def test_category_mapping_is_editable_and_used(root_client, ingest_client, make_payload):
    assert CategoryMapping.objects.filter(business_category="caregiver").exists()  # seeded
    response = root_client.post(
        reverse("admin:leads_categorymapping_add"),
        {"business_category": "Yoga Studio", "healthcare_category": "nutrition", "is_active": "on"},
    )
    assert response.status_code == 302
    assert CategoryMapping.objects.get(business_category="yoga_studio")
    payload = make_payload(businessCategory="yoga studio")
    assert ingest_client.post(INGEST, payload, format="json").status_code == 201
    assert Lead.objects.get().healthcare_category == "nutrition"


def test_actions_with_pipeline_services_are_audited_per_user(leads):
    user = user_create(kind="staff", actor=system_actor("t"))
    lead_contact(lead=leads[0], actor=user)
    lead_qualify(lead=leads[0], actor=user)
    assert (
        AuditEvent.objects.filter(actor_ref=user.public_id, target_ref=leads[0].public_id).count()
        == 2
    )


def test_view_only_staff_cannot_run_transitions(leads):
    clinic = clinic_create(
        name="Sunrise", slug="sunrise", timezone="UTC", languages=["en"], regions=[], actor=ACTOR
    )
    Lead.objects.filter(pk=leads[0].pk).update(assigned_clinic=clinic)
    client = client_for(clinic_staff(clinic, ["leads.view_lead"], username="viewer"))
    url = reverse("admin:leads_lead_changelist")
    page = client.get(url)
    assert page.status_code == 200 and leads[0].public_id in page.content.decode()
    assert "mark_contacted" not in page.content.decode()
    client.post(url, {"action": "mark_contacted", ACTION_CHECKBOX_NAME: [leads[0].pk]})
    assert Lead.objects.get(pk=leads[0].pk).status == "new"
