from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from careos.actors import Actor
from rbac import services
from rbac.errors import RoleNotInClinic
from rbac.models import AuditEvent, Clinic, ConsentRecord, Membership, User
from rbac.selectors import clinics_where, user_can
from tests.rbac.conftest import role

pytestmark = pytest.mark.django_db


def test_agent_can_in_own_clinic_not_in_other(agent_a: User, clinic_a: Clinic, clinic_b: Clinic):
    assert user_can(agent_a, "rbac.view_phi")
    assert user_can(agent_a, "rbac.view_phi", clinic_a)
    assert not user_can(agent_a, "rbac.view_phi", clinic_b)
    assert not user_can(agent_a, "rbac.view_audit_log")
    assert list(clinics_where(agent_a, "rbac.view_phi")) == [clinic_a]
    assert list(clinics_where(agent_a, "rbac.view_audit_log")) == []


def test_object_of_other_clinic_is_refused(
    agent_a: User, patient_a: User, patient_b: User, clinic_a: Clinic, clinic_b: Clinic
):
    assert user_can(agent_a, "rbac.view_user", patient_a)
    assert not user_can(agent_a, "rbac.view_user", patient_b)
    in_a = SimpleNamespace(clinic_id=clinic_a.pk)
    in_b = SimpleNamespace(clinic=clinic_b)
    assert user_can(agent_a, "rbac.view_consentrecord", in_a)
    assert not user_can(agent_a, "rbac.view_consentrecord", in_b)
    # No clinic: falls back to the clinics of the object's patient.
    assert user_can(
        agent_a, "rbac.view_consentrecord", SimpleNamespace(clinic_id=None, patient=patient_a)
    )
    assert not user_can(
        agent_a, "rbac.view_consentrecord", SimpleNamespace(clinic_id=None, patient=patient_b)
    )
    assert not user_can(agent_a, "rbac.view_consentrecord", object())


def test_superuser_can_everything(make_user, clinic_b: Clinic):
    root = make_user(is_superuser=True)
    assert user_can(root, "anything.at_all", clinic_b)
    assert list(clinics_where(root, "support.view_ticket")) == [clinic_b]


def test_anonymous_and_inactive_cannot(agent_a: User, clinic_a: Clinic):
    assert not user_can(AnonymousUser(), "rbac.view_phi", clinic_a)
    assert not user_can(None, "rbac.view_phi")
    assert not clinics_where(AnonymousUser(), "rbac.view_phi").exists()
    agent_a.is_active = False
    assert not user_can(agent_a, "rbac.view_phi", clinic_a)


def test_patient_reads_own_records_only(patient_a: User, patient_b: User, clinic_a: Clinic):
    own_consent = SimpleNamespace(clinic_id=clinic_a.pk, patient=patient_a)
    other = SimpleNamespace(clinic_id=clinic_a.pk, patient=patient_b)
    assert user_can(patient_a, "rbac.view_consentrecord", own_consent)
    assert user_can(patient_a, "rbac.view_user", patient_a)
    assert not user_can(patient_a, "rbac.view_consentrecord", other)
    assert not user_can(patient_a, "rbac.view_user", patient_b)
    # Reading only: changing their own record needs a role that grants it.
    assert not user_can(patient_a, "rbac.change_consentrecord", own_consent)


def test_revoked_membership_and_inactive_clinic_grant_nothing(
    agent_a: User, clinic_a: Clinic, actor: Actor
):
    membership = Membership.objects.get(user=agent_a, clinic=clinic_a)
    assert user_can(agent_a, "rbac.view_phi", clinic_a)
    services.membership_revoke(membership=membership, actor=actor, reason="left")
    # The permission map is cached per user instance (per request); a new request sees the change.
    assert not user_can(User.objects.get(pk=agent_a.pk), "rbac.view_phi", clinic_a)
    membership.refresh_from_db()
    assert membership.is_active is False and membership.revoked_at is not None
    assert AuditEvent.objects.filter(action="membership.revoked", reason="left").count() == 1

    services.membership_grant(
        user=agent_a, clinic=clinic_a, role=role(clinic_a, "supervisor"), actor=actor
    )
    assert user_can(User.objects.get(pk=agent_a.pk), "rbac.view_audit_log", clinic_a)
    Clinic.objects.filter(pk=clinic_a.pk).update(is_active=False)
    fresh = User.objects.get(pk=agent_a.pk)
    assert not user_can(fresh, "rbac.view_audit_log", clinic_a)


def test_role_permission_change_follows_clinic_role(agent_a: User, clinic_a: Clinic):
    perm = Permission.objects.get(codename="view_audit_log")
    role(clinic_a, "support_agent").permissions.add(perm)
    fresh = User.objects.get(pk=agent_a.pk)
    assert user_can(fresh, "rbac.view_audit_log", clinic_a)
    # Templates and other clinics' clones are unaffected.
    assert not role(None, "support_agent").permissions.filter(pk=perm.pk).exists()


def test_many_checks_cost_one_query(
    agent_a: User, clinic_a: Clinic, clinic_b: Clinic, django_assert_num_queries
):
    objects = [SimpleNamespace(clinic_id=c.pk) for c in (clinic_a, clinic_b) * 50]
    with django_assert_num_queries(1):
        results = [user_can(agent_a, "rbac.view_consentrecord", o) for o in objects]
    assert results.count(True) == 50


def test_grant_refuses_role_of_other_clinic(
    agent_a: User, clinic_a: Clinic, clinic_b: Clinic, actor
):
    with pytest.raises(RoleNotInClinic):
        services.membership_grant(
            user=agent_a, clinic=clinic_a, role=role(clinic_b, "clinic_admin"), actor=actor
        )
    assert not user_can(agent_a, "rbac.manage_roles")


def test_malformed_permission_is_an_error(agent_a: User):
    with pytest.raises(ValueError):
        user_can(agent_a, "view_phi")


def test_bare_ids_do_not_make_a_record_own(patient_a: User, clinic_b: Clinic):
    # Only a reference to the user itself counts: an ``owner_id`` may be a partner's pk.
    assert not user_can(patient_a, "rbac.view_clinic", SimpleNamespace(owner_id=patient_a.pk))
    assert not user_can(patient_a, "rbac.view_clinic", SimpleNamespace(user_id=patient_a.pk))


def test_model_objects_and_query_budget(
    agent_a: User, patient_a: User, patient_b: User, actor: Actor, django_assert_num_queries
):
    def consent(patient: User) -> ConsentRecord:
        return services.consent_record(
            patient=patient, consent_type="marketing", text="ok", language="en", actor=actor
        )

    consents = [consent(patient_a) for _ in range(5)] + [consent(patient_b) for _ in range(5)]
    rows = list(ConsentRecord.objects.filter(pk__in=[c.pk for c in consents]).order_by("pk"))
    checker = User.objects.get(pk=agent_a.pk)
    # No clinic on these consents: resolved through each patient's clinics, one query per
    # distinct patient, plus one for the agent's permission map.
    with django_assert_num_queries(3):
        allowed = [user_can(checker, "rbac.view_consentrecord", row) for row in rows]
    assert allowed == [True] * 5 + [False] * 5
    own = User.objects.get(pk=patient_a.pk)
    assert user_can(own, "rbac.view_consentrecord", rows[0])
    assert not user_can(own, "rbac.view_consentrecord", rows[-1])
    membership = Membership.objects.get(user=agent_a)
    assert user_can(checker, "rbac.view_membership", membership)
