"""Clinic endpoints (a signed-in clinic admin, permission ``partners.manage_marketplace_apps``
in the clinic): install, list, uninstall, and the clinic's review of a listing. A clinic where
the user may not manage apps, or its installation, is a 404."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.idempotency import idempotent
from partners import marketplace_selectors as selectors
from partners.api.marketplace_serializers import (
    InstallationSerializer,
    InstallInputSerializer,
    InstallResultSerializer,
    ReviewInputSerializer,
    ReviewSerializer,
)
from partners.services.marketplace.installations import listing_install, listing_uninstall
from partners.services.marketplace.reviews import review_write
from rbac.api.permissions import HasClinicPermission

TAGS = ["marketplace: clinic"]


@extend_schema(tags=TAGS)
class InstallationListView(GenericAPIView):
    permission_classes = [HasClinicPermission]
    required_permission = selectors.MANAGE_APPS
    serializer_class = InstallationSerializer

    def get_queryset(self):
        return selectors.clinic_installations(user=self.request.user)

    @extend_schema(
        operation_id="marketplace_installations_list",
        summary="The apps installed in your clinics, newest first",
        responses=InstallationSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InstallationSerializer(page, many=True).data)

    @extend_schema(
        summary="Install a listing for a clinic: consent to the app's scopes for the clinic",
        description="Records the installation and the consent (who, when, which scopes) and "
        "answers with `redirectTo`: the app's redirect URI carrying an OAuth authorization "
        "code (and `state`), which the app exchanges at /o/token/ with the PKCE verifier of "
        "`codeChallenge` (the app starts an install by sending the admin here with its "
        "challenge). The partner receives `app.installed`.",
        request=InstallInputSerializer,
        responses={201: InstallResultSerializer},
        examples=[
            OpenApiExample(
                "Install",
                value={
                    "listingId": "lst_2bX8v1kQ",
                    "clinicId": "cln_5tR1",
                    "state": "xyz",
                    "codeChallenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = InstallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        clinic = selectors.manageable_clinic(
            user=request.user, clinic_public_id=values["clinic_id"]
        )
        listing = selectors.public_listing(public_id=values["listing_id"])
        result = listing_install(
            listing=listing,
            clinic=clinic,
            user=request.user,
            redirect_uri=values.get("redirect_uri", ""),
            state=values["state"],
            code_challenge=values["code_challenge"],
        )
        body = InstallResultSerializer(
            {"installation": result.installation, "redirect_to": result.redirect_to}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class InstallationDetailView(APIView):
    permission_classes = [HasClinicPermission]
    required_permission = selectors.MANAGE_APPS

    @extend_schema(
        operation_id="marketplace_installation_get",
        summary="One installation of your clinics",
        responses=InstallationSerializer,
    )
    def get(self, request: Request, installation_id: str) -> Response:
        installation = selectors.clinic_installation(user=request.user, public_id=installation_id)
        return Response(InstallationSerializer(installation).data)

    @extend_schema(
        summary="Uninstall: the app's tokens for the clinic are revoked; the partner receives "
        "`app.uninstalled`",
        responses=InstallationSerializer,
    )
    def delete(self, request: Request, installation_id: str) -> Response:
        installation = selectors.clinic_installation(user=request.user, public_id=installation_id)
        installation = listing_uninstall(installation=installation, user=request.user)
        return Response(InstallationSerializer(installation).data)


@extend_schema(tags=TAGS)
class ClinicReviewView(APIView):
    permission_classes = [HasClinicPermission]
    required_permission = selectors.MANAGE_APPS

    @extend_schema(
        summary="Write or change your clinic's review of a listing (the clinic must have it "
        "installed; 403 otherwise). Former versions are kept.",
        request=ReviewInputSerializer,
        responses={200: ReviewSerializer, 201: ReviewSerializer},
        examples=[
            OpenApiExample(
                "A review",
                value={"clinicId": "cln_5tR1", "rating": 5, "body": "Set up in ten minutes."},
                request_only=True,
            )
        ],
    )
    def put(self, request: Request, listing_id: str) -> Response:
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        clinic = selectors.manageable_clinic(
            user=request.user, clinic_public_id=values["clinic_id"]
        )
        listing = selectors.public_listing(public_id=listing_id)
        review, created = review_write(
            listing=listing,
            clinic=clinic,
            user=request.user,
            rating=values["rating"],
            body=values["body"],
        )
        return Response(
            ReviewSerializer(review).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
