import pytest

from careos.actors import Actor
from rbac import services
from rbac.errors import ClinicSlugTaken, InvalidClinic, InvalidUser, NotARoleTemplate
from rbac.models import AuditEvent, Clinic, Membership, Role, User
from rbac.roles import ROLE_TEMPLATES, TEMPLATE_SLUGS
from rbac.selectors import role_templates, user_by_email, user_by_phone

pytestmark = pytest.mark.django_db


def perms(role: Role) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in role.permissions.select_related("content_type")
    }


def test_data_migration_created_the_templates():
    templates = {t.slug: t for t in role_templates()}
    assert sorted(templates) == sorted(TEMPLATE_SLUGS)
    for spec in ROLE_TEMPLATES:
        # Other apps add their own permissions to the templates by migration.
        assert set(spec["permissions"]) <= perms(templates[spec["slug"]])
    assert "rbac.view_phi" not in perms(templates["billing"])
    assert "rbac.view_audit_log" in perms(templates["clinic_admin"])


def test_clinic_create_clones_every_template(actor: Actor):
    clinic = services.clinic_create(
        name=" Riverside Care ",
        slug="riverside",
        timezone="America/Chicago",
        languages=["en", "es", "en"],
        regions=["il", "WI"],
        actor=actor,
    )
    clinic.refresh_from_db()
    assert clinic.name == "Riverside Care"
    assert clinic.languages == ["en", "es"] and clinic.regions == ["IL", "WI"]
    roles = {r.slug: r for r in clinic.roles.select_related("template")}
    assert sorted(roles) == sorted(TEMPLATE_SLUGS)
    for slug, role in roles.items():
        assert role.template.slug == slug and role.template.is_template
        assert perms(role) == perms(role.template)
    assert AuditEvent.objects.filter(action="clinic.created", clinic=clinic).count() == 1
    assert AuditEvent.objects.filter(action="role.cloned", clinic=clinic).count() == 6


def test_clone_is_idempotent_and_refuses_clinic_roles(clinic_a: Clinic, actor: Actor):
    template = Role.objects.get(clinic=None, slug="supervisor")
    again = services.role_clone_for_clinic(template=template, clinic=clinic_a, actor=actor)
    assert again == Role.objects.get(clinic=clinic_a, slug="supervisor")
    assert clinic_a.roles.count() == 6
    with pytest.raises(NotARoleTemplate):
        services.role_clone_for_clinic(template=again, clinic=clinic_a, actor=actor)


def test_clone_is_independent_of_later_template_edits(clinic_a: Clinic):
    template = Role.objects.get(clinic=None, slug="billing")
    template.permissions.clear()
    assert perms(Role.objects.get(clinic=clinic_a, slug="billing"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"languages": ["English!"]}, "languages"),
        ({"regions": ["new york"]}, "regions"),
        ({"name": "  "}, "name"),
        ({"slug": "no spaces"}, "slug"),
    ],
)
def test_clinic_create_refuses_bad_settings(actor: Actor, fields: dict, field: str):
    data = {"name": "X", "slug": "x", "timezone": "UTC", "languages": ["en"], "regions": []}
    data.update(fields)
    with pytest.raises(InvalidClinic) as exc_info:
        services.clinic_create(actor=actor, **data)
    assert exc_info.value.extra["field"] == field
    assert not Clinic.objects.exists()


def test_clinic_slug_taken(clinic_a: Clinic, actor: Actor):
    with pytest.raises(ClinicSlugTaken) as exc_info:
        services.clinic_create(
            name="Other", slug=clinic_a.slug, timezone="UTC", languages=[], regions=[], actor=actor
        )
    assert exc_info.value.status == 409


def test_membership_grant_updates_existing(make_user, clinic_a: Clinic, actor: Actor):
    user = make_user()
    agent_role = Role.objects.get(clinic=clinic_a, slug="support_agent")
    first = services.membership_grant(user=user, clinic=clinic_a, role=agent_role, actor=actor)
    services.membership_revoke(membership=first, actor=actor, reason="moved")
    services.membership_revoke(membership=first, actor=actor, reason="again")  # no-op
    supervisor = Role.objects.get(clinic=clinic_a, slug="supervisor")
    second = services.membership_grant(user=user, clinic=clinic_a, role=supervisor, actor=actor)
    assert second.pk == first.pk
    row = Membership.objects.get(user=user, clinic=clinic_a)
    assert row.role == supervisor and row.is_active and row.revoked_at is None
    actions = list(
        AuditEvent.objects.filter(target_ref=user.public_id, target_type="membership")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["membership.granted", "membership.revoked", "membership.granted"]


def test_user_create_and_blind_index_lookup(actor: Actor):
    user = services.user_create(
        kind=User.Kind.PATIENT,
        phone="+12125550199",
        email="Ann@Example.com",
        first_name="Ann",
        actor=actor,
    )
    assert user.username.startswith("pat_") and not user.has_usable_password()
    assert user_by_phone("+12125550199") == user
    assert user_by_email("ann@example.COM") == user
    assert user_by_phone("+12125550100") is None
    event = AuditEvent.objects.get(action="user.created", target_ref=user.public_id)
    assert event.patient == user and "Ann" not in str(event.metadata)
    with pytest.raises(InvalidUser):
        services.user_create(kind=User.Kind.PATIENT, phone="212-555", actor=actor)
    with pytest.raises(InvalidUser):
        services.user_create(kind="robot", actor=actor)


def test_patient_get_or_create_first_referral_wins(actor: Actor):
    patient, created = services.patient_get_or_create(
        phone="+12125550123", source="", actor=actor, location_state="NY"
    )
    assert created and patient.kind == User.Kind.PATIENT and patient.location_state == "NY"
    same, created = services.patient_get_or_create(
        phone="+12125550123", source="businessos_referral", source_lead_id="bos-1", actor=actor
    )
    assert not created and same.pk == patient.pk
    assert (same.source, same.source_lead_id) == ("businessos_referral", "bos-1")
    again, _ = services.patient_get_or_create(
        phone="+12125550123", source="other_referral", source_lead_id="x-9", actor=actor
    )
    again.refresh_from_db()
    assert (again.source, again.source_lead_id) == ("businessos_referral", "bos-1")
    assert User.objects.filter(kind=User.Kind.PATIENT).count() == 1
