"""A partner's own marketplace listings, their media, analytics and review replies (scope
``manage:marketplace``). Another partner's listing or review is a 404."""

import base64
import binascii
import io
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from careos.api.filters import query_filters
from careos.api.idempotency import idempotent
from partners import marketplace_selectors as selectors
from partners.api.base import PartnerAPIView
from partners.api.marketplace_serializers import (
    AnalyticsFilters,
    AnalyticsSerializer,
    ListingCreateSerializer,
    ListingInputSerializer,
    MediaSerializer,
    MediaUploadSerializer,
    PartnerListingSerializer,
    ReplyInputSerializer,
    ReviewSerializer,
)
from partners.api.views.self_service import PartnerGenericAPIView
from partners.models import MarketplaceListing
from partners.scopes import MANAGE_MARKETPLACE
from partners.selectors import owned_or_404, partner_applications, partner_from_request
from partners.services.marketplace import listings as services
from partners.services.marketplace.media import (
    InvalidImage,
    listing_media_add,
    listing_media_remove,
)
from partners.services.marketplace.reviews import review_reply
from partners.services.marketplace.stats import listing_analytics

TAGS = ["marketplace: partner"]
CREATE_EXAMPLE = {
    "applicationId": "app_4kP0",
    "name": "Acme Scheduling",
    "tagline": "Two-way calendar sync for clinics",
    "description": "Sync appointments **both ways**. [Docs](https://acme.example.com/docs)",
    "categories": ["scheduling"],
    "pricingModel": "subscription",
    "pricingSummary": "$49 per clinic per month",
    "supportUrl": "https://acme.example.com/support",
    "privacyPolicyUrl": "https://acme.example.com/privacy",
}


def _own(request: Request, listing_id: str) -> MarketplaceListing:
    return selectors.partner_listing(partner=partner_from_request(request), public_id=listing_id)


def _fresh(request: Request, listing: MarketplaceListing) -> Response:
    return Response(PartnerListingSerializer(_own(request, listing.public_id)).data)


@extend_schema(tags=TAGS)
class PartnerListingListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": MANAGE_MARKETPLACE, "POST": MANAGE_MARKETPLACE}
    serializer_class = PartnerListingSerializer

    def get_queryset(self):
        return selectors.partner_listings(partner=partner_from_request(self.request))

    @extend_schema(summary="Your marketplace listings (scope manage:marketplace)")
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        summary="List one of your published applications, as a draft (scope manage:marketplace)",
        request=ListingCreateSerializer,
        responses={201: PartnerListingSerializer},
        examples=[OpenApiExample("A listing", value=CREATE_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ListingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        partner = partner_from_request(request)
        application = owned_or_404(
            partner_applications(partner=partner),
            public_id=fields.pop("application_id"),
            what="application",
        )
        listing = services.listing_create(
            partner=partner, application=application, actor=request.auth.actor, **fields
        )
        response = _fresh(request, listing)
        response.status_code = status.HTTP_201_CREATED
        return response


@extend_schema(tags=TAGS)
class PartnerListingDetailView(PartnerAPIView):
    required_scopes = {"GET": MANAGE_MARKETPLACE, "PATCH": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="One of your listings, with its pending revision (scope manage:marketplace)",
        responses=PartnerListingSerializer,
    )
    def get(self, request: Request, listing_id: str) -> Response:
        return Response(PartnerListingSerializer(_own(request, listing_id)).data)

    @extend_schema(
        summary="Change a listing: a draft at once; a published listing's changes wait for "
        "staff review in its pending revision (scope manage:marketplace)",
        request=ListingInputSerializer(partial=True),
        responses=PartnerListingSerializer,
        examples=[
            OpenApiExample(
                "New tagline", value={"tagline": "Calendar sync in minutes"}, request_only=True
            )
        ],
    )
    def patch(self, request: Request, listing_id: str) -> Response:
        listing = _own(request, listing_id)
        data = ListingInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        listing = services.listing_update(
            listing=listing, actor=request.auth.actor, **data.validated_data
        )
        return _fresh(request, listing)


@extend_schema(tags=TAGS)
class PartnerListingSubmitView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="Submit a draft listing for staff review (scope manage:marketplace)",
        request=None,
        responses=PartnerListingSerializer,
    )
    def post(self, request: Request, listing_id: str) -> Response:
        listing = services.listing_submit(
            listing=_own(request, listing_id), actor=request.auth.actor
        )
        return _fresh(request, listing)


@extend_schema(tags=TAGS)
class PartnerListingMediaView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="Upload a logo (square, replaces the current one) or a screenshot: PNG, JPEG "
        "or WebP, base64 in JSON, checked with Pillow (scope manage:marketplace)",
        request=MediaUploadSerializer,
        responses={201: MediaSerializer},
    )
    def post(self, request: Request, listing_id: str) -> Response:
        listing = _own(request, listing_id)
        data = MediaUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            image = base64.b64decode(data.validated_data["content"], validate=True)
        except binascii.Error:
            raise InvalidImage("content is not valid base64.") from None
        media = listing_media_add(
            listing=listing,
            kind=data.validated_data["kind"],
            upload=io.BytesIO(image),
            size=len(image),
            actor=request.auth.actor,
        )
        return Response(MediaSerializer(media).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class PartnerListingMediaDetailView(PartnerAPIView):
    required_scopes = {"DELETE": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="Remove an image (on a published listing, with its next approved revision) "
        "(scope manage:marketplace)",
        responses={204: None},
    )
    def delete(self, request: Request, listing_id: str, media_id: str) -> Response:
        listing_media_remove(
            listing=_own(request, listing_id), media_id=media_id, actor=request.auth.actor
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class PartnerListingAnalyticsView(PartnerAPIView):
    required_scopes = {"GET": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="A listing's views, installs, uninstalls, active installs and rating over time "
        "(scope manage:marketplace)",
        parameters=[AnalyticsFilters],
        responses=AnalyticsSerializer,
    )
    def get(self, request: Request, listing_id: str) -> Response:
        listing = _own(request, listing_id)
        days = query_filters(AnalyticsFilters, request).get("days", 30)
        until = timezone.now().date()
        analytics = listing_analytics(
            listing=listing, since=until - timedelta(days=days - 1), until=until
        )
        return Response(AnalyticsSerializer(analytics).data)


@extend_schema(tags=TAGS)
class PartnerReviewReplyView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_MARKETPLACE}

    @extend_schema(
        summary="Reply to a review of your listing, once (scope manage:marketplace)",
        request=ReplyInputSerializer,
        responses=ReviewSerializer,
        examples=[
            OpenApiExample(
                "A reply", value={"body": "Thank you for the review!"}, request_only=True
            )
        ],
    )
    def post(self, request: Request, review_id: str) -> Response:
        partner = partner_from_request(request)
        review = selectors.partner_review(partner=partner, public_id=review_id)
        data = ReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = review_reply(
            review=review,
            partner=partner,
            body=data.validated_data["body"],
            actor=request.auth.actor,
        )
        return Response(ReviewSerializer(review).data)
