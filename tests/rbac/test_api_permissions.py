import pytest
from django.shortcuts import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from rbac import services
from rbac.api.permissions import HasClinicPermission
from rbac.models import Clinic, ConsentRecord, User
from rbac.selectors import clinics_where, scope_to_user

pytestmark = pytest.mark.django_db


class ScopedClinicView(APIView):
    """The recommended shape: the selector scopes to the user's clinics (404 elsewhere)."""

    permission_classes = [HasClinicPermission]
    required_permissions = {"GET": "rbac.view_clinic", "PATCH": "rbac.change_clinic"}

    def get(self, request: Request, slug: str) -> Response:
        clinic = get_object_or_404(clinics_where(request.user, "rbac.view_clinic"), slug=slug)
        self.check_object_permissions(request, clinic)
        return Response({"slug": clinic.slug})

    def patch(self, request: Request, slug: str) -> Response:
        clinic = get_object_or_404(clinics_where(request.user, "rbac.change_clinic"), slug=slug)
        self.check_object_permissions(request, clinic)
        return Response({"slug": clinic.slug})


class UnscopedClinicView(APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "rbac.view_phi"

    def get(self, request: Request, slug: str) -> Response:
        clinic = Clinic.objects.get(slug=slug)
        self.check_object_permissions(request, clinic)
        return Response({"slug": clinic.slug})


def call(view: type[APIView], method: str, slug: str, user: User | None = None) -> Response:
    request = getattr(APIRequestFactory(), method)(f"/x/{slug}")
    if user is not None:
        force_authenticate(request, user=user)
    return view.as_view()(request, slug=slug)


def test_anonymous_gets_401_problem(clinic_a: Clinic):
    response = call(ScopedClinicView, "get", clinic_a.slug)
    response.render()
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.data["code"] == "credentials_missing"
    assert response.has_header("WWW-Authenticate")


def test_member_reads_own_clinic_and_gets_404_for_other(agent_a: User, clinic_a, clinic_b):
    assert call(ScopedClinicView, "get", clinic_a.slug, agent_a).data == {"slug": "clinic-a"}
    response = call(ScopedClinicView, "get", clinic_b.slug, agent_a)
    assert response.status_code == 404
    assert response.data["code"] == "not_found"


def test_lacking_permission_is_403(agent_a: User, clinic_a: Clinic):
    response = call(ScopedClinicView, "patch", clinic_a.slug, agent_a)
    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"


def test_object_permission_refuses_other_clinic(agent_a: User, clinic_a, clinic_b):
    assert call(UnscopedClinicView, "get", clinic_a.slug, agent_a).status_code == 200
    assert call(UnscopedClinicView, "get", clinic_b.slug, agent_a).status_code == 403


def test_method_without_declared_permission_is_refused(agent_a: User, clinic_a: Clinic):
    assert call(ScopedClinicView, "delete", clinic_a.slug, agent_a).status_code in (403, 405)
    root = User.objects.create_superuser(username="root", password=None)
    assert call(ScopedClinicView, "patch", clinic_a.slug, root).status_code == 200


def test_view_without_required_permission_is_a_programming_error(agent_a: User):
    class Misconfigured(APIView):
        permission_classes = [HasClinicPermission]

        def get(self, request: Request) -> Response:
            return Response({})

    request = APIRequestFactory().get("/x")
    force_authenticate(request, user=agent_a)
    response = Misconfigured.as_view()(request)
    # Fails closed: a generic 500 problem, the TypeError is logged, nothing leaks.
    assert response.status_code == 500
    assert response.data["code"] == "internal_error"
    assert "required_permission" not in str(response.data)


class MyConsentsView(APIView):
    """A list a patient may read for themselves and staff for their clinics."""

    permission_classes = [HasClinicPermission]
    required_permission = "rbac.view_consentrecord"
    allow_own_records = True

    def get(self, request: Request) -> Response:
        rows = scope_to_user(
            ConsentRecord.objects.all(), request.user, self.required_permission, own_field="patient"
        )
        return Response(sorted(c.public_id for c in rows))


def list_consents(user: User | None) -> Response:
    request = APIRequestFactory().get("/consents")
    if user is not None:
        force_authenticate(request, user=user)
    return MyConsentsView.as_view()(request)


def test_own_records_and_clinic_scoping(patient_a, patient_b, agent_a, clinic_a, clinic_b, actor):
    def consent(patient: User, clinic: Clinic) -> str:
        return services.consent_record(
            patient=patient,
            consent_type="data_sharing",
            text="ok",
            language="en",
            clinic=clinic,
            actor=actor,
        ).public_id

    a = consent(patient_a, clinic_a)
    b = consent(patient_b, clinic_b)
    assert list_consents(patient_a).data == [a]
    assert list_consents(patient_b).data == [b]
    assert list_consents(agent_a).data == [a]
    assert list_consents(None).status_code == 401
    root = User.objects.create_superuser(username="root", password=None)
    assert list_consents(root).data == sorted([a, b])
