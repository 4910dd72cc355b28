"""The console's clinic scoping and PHI-read audit, over EVERY registered ModelAdmin: a new
admin is covered without editing this file (a clinic-scoped one needs a row in
tests/console_world.py, and the matrix says so)."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careos.actors import system_actor
from careos.phi import patient_id_of
from rbac import services
from rbac.console import ClinicScopedAdmin, PlatformOnlyAdmin
from rbac.models import AuditEvent, Clinic, Membership, Role, User
from tests.console import client_for, clinic_staff, permissions, platform_staff
from tests.console_world import seed_clinic_rows, shared_rows
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
SCOPED = [(m, a) for m, a in ADMINS if isinstance(a, ClinicScopedAdmin) and not a.shared]
PHI = [(m, a) for m, a in SCOPED if a.phi_patient]
# Scoped admins whose rows name a user who is never a patient, or that list no health data.
NOT_PHI = {
    "rbac.AuditEvent": "ids and actions only; reading the log is not itself audited",
    "rbac.Clinic": "the clinic itself",
    "rbac.Role": "roles name no person",
    "engagement.Campaign": "names no patient",
    "support.AgentProfile": "staff",
    "support.BusinessCalendar": "no person",
    "support.Queue": "staff",
    "support.SlaPolicy": "no person",
}


def url(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


@pytest.fixture
def world(db) -> dict:
    actor = system_actor("tests")
    clinics = [
        services.clinic_create(
            name=f"Clinic {x}",
            slug=f"clinic-{x}",
            timezone="UTC",
            languages=["en"],
            regions=[],
            actor=actor,
        )
        for x in "ab"
    ]
    partner = PartnerFactory()
    rows_a, rows_b = (seed_clinic_rows(clinic, partner) for clinic in clinics)
    every = [f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()]
    staff = clinic_staff(clinics[0], every, username="staff-a")
    return {"clinics": clinics, "a": rows_a, "b": rows_b, "staff": staff, "partner": partner}


def _shown(client: Client, model) -> set:
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200, (model, response.status_code)
    return {row.pk for row in response.context["cl"].result_list}


def test_every_admin_is_clinic_scoped_shared_or_platform_only():
    for model, model_admin in ADMINS:
        assert isinstance(model_admin, ClinicScopedAdmin | PlatformOnlyAdmin), model
        if isinstance(model_admin, ClinicScopedAdmin) and model_admin.shared:
            relations = {f.related_model for f in model._meta.fields if f.is_relation}
            assert not relations & {Clinic, User}, f"{model} is shared but has tenant data"


def test_clinic_staff_see_only_their_clinic_in_every_admin(world: dict) -> None:
    """One world for all admins (seeding is the slow part); every admin is checked."""
    client = client_for(world["staff"])
    ops = client_for(platform_staff(username="ops"))
    for model, model_admin in ADMINS:
        label = model._meta.label
        if isinstance(model_admin, PlatformOnlyAdmin):
            assert client.get(url(model, "changelist")).status_code == 403, label
            row = model._default_manager.first()
            if row is not None:
                assert client.get(url(model, "change", row.pk)).status_code == 404, label
                assert ops.get(url(model, "change", row.pk)).status_code == 200, label
            continue
        if model_admin.shared:
            assert shared_rows()[label].pk in _shown(client, model), label
            continue
        assert label in world["a"], f"add a {label} row to tests/console_world.py"
        mine, theirs = world["a"][label], world["b"][label]
        shown = _shown(client, model)
        assert mine.pk in shown and theirs.pk not in shown, label
        assert client.get(url(model, "change", mine.pk)).status_code == 200, label
        assert client.get(url(model, "change", theirs.pk)).status_code == 404, label  # not 403
        assert client.get(url(model, "history", theirs.pk)).status_code == 404, label
        assert theirs.pk in _shown(ops, model), label


def test_scoped_changelists_make_no_query_per_row(world: dict) -> None:
    client = client_for(world["staff"])

    def counts() -> dict[str, int]:
        found = {}
        for model, _ in SCOPED:
            changelist = url(model, "changelist")
            client.get(changelist)  # warm per-process caches (content types, session)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(changelist).status_code == 200
            found[model._meta.label] = len(queries)
        return found

    one_row = counts()
    seed_clinic_rows(world["clinics"][0], world["partner"])
    seed_clinic_rows(world["clinics"][0], world["partner"])
    assert counts() == one_row


def test_every_admin_naming_a_patient_declares_it():
    for model, model_admin in SCOPED:
        names_user = any(f.is_relation and f.related_model is User for f in model._meta.fields)
        if (names_user or model is User) and model._meta.label not in NOT_PHI:
            assert model_admin.phi_patient, f"{model} shows a patient: declare phi_patient"


def test_every_phi_admin_page_writes_one_audit_event(world: dict) -> None:
    client = client_for(world["staff"])
    for model, model_admin in PHI:
        row = world["a"][model._meta.label]
        patient = User.objects.get(pk=patient_id_of(row, model_admin.phi_patient))
        for page in (url(model, "changelist"), url(model, "change", row.pk)):
            before = set(AuditEvent.objects.values_list("pk", flat=True))
            assert client.get(page).status_code == 200, page
            new = AuditEvent.objects.exclude(pk__in=before)
            assert new.count() == 1, page
            event = new.get()
            assert event.action == "phi.viewed" and event.actor_user == world["staff"], page
            assert patient.public_id in event.metadata["patients"], page
    # Another clinic's patients are never named.
    other = world["b"]["rbac.User"].public_id
    assert not any(other in e.metadata.get("patients", []) for e in AuditEvent.objects.all())


def test_search_and_autocomplete_stay_in_the_clinic(world: dict) -> None:
    client = client_for(world["staff"])
    theirs = world["b"]["rbac.User"]
    found = client.get(url(User, "changelist"), {"q": theirs.phone}).context["cl"].result_list
    assert list(found) == []
    mine = world["a"]["rbac.User"]
    found = client.get(url(User, "changelist"), {"q": mine.phone}).context["cl"].result_list
    assert [u.pk for u in found] == [mine.pk]
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "rbac", "model_name": "membership", "field_name": "user", "term": ""},
    )
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert mine.pk in ids and theirs.pk not in ids


def test_actions_apply_only_to_the_clinics_rows(world: dict) -> None:
    client = client_for(world["staff"])
    theirs = world["b"]["rbac.Membership"]
    client.post(
        url(theirs, "changelist"),
        {"action": "revoke_memberships", "_selected_action": [theirs.pk]},
    )
    theirs.refresh_from_db()
    assert theirs.is_active


def test_only_clinic_and_platform_staff_open_the_console(world: dict, make_user) -> None:
    django_perms_only = make_user(is_staff=True)
    django_perms_only.user_permissions.add(*Permission.objects.all())
    assert client_for(django_perms_only).get("/admin/").status_code == 302  # to the login
    patient = world["a"]["rbac.Membership"].user  # a patient membership opens nothing
    assert client_for(patient).get("/admin/").status_code == 302
    assert client_for(world["staff"]).get("/admin/").status_code == 200
    # Clinic staff cannot make themselves platform staff or superusers.
    page = client_for(world["staff"]).get(url(User, "change", world["staff"].pk))
    assert page.status_code == 200
    assert "is_superuser" not in page.context["adminform"].form.fields


def test_a_row_is_saved_only_in_a_clinic_where_the_role_allows_it(world: dict) -> None:
    clinic_a, clinic_b = world["clinics"]
    views = ["rbac.view_clinic", "rbac.view_role", "rbac.view_user"]
    staff = clinic_staff(clinic_a, [*views, "rbac.add_membership"], username="adder")
    viewer = Role.objects.create(clinic=clinic_b, slug="viewer", name="Viewer")
    viewer.permissions.add(*permissions(views))  # sees clinic B, adds nothing there
    services.membership_grant(user=staff, clinic=clinic_b, role=viewer, actor=system_actor("tests"))
    someone = world["b"]["rbac.User"]
    role_b = Role.objects.get(clinic=clinic_b, slug="patient")
    response = client_for(staff).post(
        url(Membership, "add"), {"user": someone.pk, "clinic": clinic_b.pk, "role": role_b.pk}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Choose a clinic where your role allows this." in response.content.decode()
    assert not Membership.objects.filter(user=someone, clinic=clinic_b).exists()


def test_the_console_sign_in_takes_clinic_staff_and_refuses_django_staff(world: dict) -> None:
    staff = world["staff"]
    staff.set_password("clinic-pass-1")
    staff.save(update_fields=["password"])
    django_staff = User.objects.create_user(
        username="django-staff", password="clinic-pass-1", is_staff=True
    )
    assert django_staff.is_staff
    for user, signed_in in ((staff, True), (django_staff, False)):
        client = Client()
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": user.username, "password": "clinic-pass-1", "next": "/admin/"},
        )
        assert (response.status_code == 302) is signed_in, user.username
        assert ("_auth_user_id" in client.session) is signed_in


def test_view_phi_is_a_clinic_role_permission(world: dict) -> None:
    clinic_a, clinic_b = world["clinics"]
    patient = world["a"]["rbac.User"]
    page = url(User, "change", patient.pk)
    billing = User.objects.create_user(username="billing-a", password=None)
    services.membership_grant(
        user=billing,
        clinic=clinic_a,
        role=Role.objects.get(clinic=clinic_a, slug="billing"),  # sees patients, not their PHI
        actor=system_actor("tests"),
    )
    services.membership_grant(
        user=billing,
        clinic=clinic_b,
        role=Role.objects.get(clinic=clinic_b, slug="support_agent"),  # view_phi, in B only
        actor=system_actor("tests"),
    )
    before = AuditEvent.objects.count()
    response = client_for(billing).get(page)
    assert response.status_code == 200
    assert patient.phone not in response.content.decode()
    assert "phone" not in response.context["adminform"].form.fields
    assert AuditEvent.objects.count() == before  # no PHI shown, no PHI read
    response = client_for(world["staff"]).get(page)  # holds rbac.view_phi in clinic A
    assert patient.phone in response.content.decode()
    assert AuditEvent.objects.filter(action="phi.viewed", patient=patient).count() == 1
