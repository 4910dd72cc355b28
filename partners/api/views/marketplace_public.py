"""Public marketplace discovery: no credentials needed (listings, search, a listing, its reviews,
categories, featured and trending)."""

import math
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from careos.api.filters import query_filters
from careos.api.pagination import InvalidCursor, StrictCursorPagination
from partners import marketplace_selectors as selectors
from partners.api.marketplace_serializers import (
    CategorySerializer,
    ListingFilters,
    ListingSerializer,
    ReviewSerializer,
)
from partners.services.marketplace.stats import day_bump

TAGS = ["marketplace"]

LISTING_EXAMPLE = {
    "id": "lst_2bX8v1kQ",
    "name": "Acme Scheduling",
    "tagline": "Two-way calendar sync for clinics",
    "descriptionHtml": "<p>Sync appointments both ways.</p>",
    "categories": ["scheduling"],
    "pricingModel": "subscription",
    "pricingSummary": "$49 per clinic per month",
    "supportUrl": "https://acme.example.com/support",
    "privacyPolicyUrl": "https://acme.example.com/privacy",
    "scopes": ["read:leads"],
    "partner": {"id": "ptr_9sJw2", "name": "Acme"},
    "applicationId": "app_4kP0",
    "logo": None,
    "screenshots": [],
    "ratingAverage": 4.5,
    "ratingCount": 12,
    "installCount": 87,
    "trendingScore": 3.2,
    "featuredPosition": None,
    "publishedAt": "2026-11-20T10:00:00Z",
}


class ListingCursorPagination(StrictCursorPagination):
    """Cursor pages in the order the view chose (``view.listing_ordering``)."""

    page_size = 20

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return getattr(view, "listing_ordering", None) or ("-published_at", "-pk")

    def _check_position(self, position: str) -> None:
        super()._check_position(position)
        if self._ordering_field() is None:  # an annotation (the search rank): a number
            try:
                value = float(position)
            except ValueError:
                raise InvalidCursor() from None
            if not math.isfinite(value):
                raise InvalidCursor()


class PublicView(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


@extend_schema(tags=TAGS)
class ListingSearchView(PublicView):
    serializer_class = ListingSerializer
    pagination_class = ListingCursorPagination

    @extend_schema(
        operation_id="marketplace_listings_search",
        summary="Search and browse published listings (no credentials)",
        responses=ListingSerializer(many=True),
        description="Full-text search with typo tolerance in `q` (any text; PostgreSQL ranks "
        "with weighted full-text and trigram similarity), filters, and sorting.",
        parameters=[ListingFilters],
        examples=[
            OpenApiExample("A listing", value=LISTING_EXAMPLE, response_only=True),
        ],
    )
    def get(self, request: Request) -> Response:
        filters = query_filters(ListingFilters, request)
        queryset, self.listing_ordering = selectors.listing_search(
            q=filters.get("q", ""),
            category=filters.get("category", ""),
            pricing_model=filters.get("pricing_model", ""),
            min_rating=filters.get("min_rating"),
            partner=filters.get("partner", ""),
            sort=filters.get("sort", ""),
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ListingSerializer(page, many=True).data)


@extend_schema(tags=TAGS)
class ListingDetailView(PublicView):
    @extend_schema(
        operation_id="marketplace_listing_get",
        summary="One published listing (no credentials); counted as a view",
        responses=ListingSerializer,
        examples=[OpenApiExample("A listing", value=LISTING_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, listing_id: str) -> Response:
        listing = selectors.public_listing(public_id=listing_id)
        day_bump(listing_id=listing.pk, views=1)
        return Response(ListingSerializer(listing).data)


@extend_schema(tags=TAGS)
class ListingReviewsView(PublicView):
    serializer_class = ReviewSerializer

    @extend_schema(
        operation_id="marketplace_listing_reviews",
        summary="A listing's reviews, newest first (no credentials)",
        responses=ReviewSerializer(many=True),
        examples=[
            OpenApiExample(
                "A review",
                value={
                    "id": "rev_7Hq2",
                    "listingId": "lst_2bX8v1kQ",
                    "clinicName": "Downtown Clinic",
                    "rating": 5,
                    "body": "Set up in ten minutes.",
                    "reply": {"body": "Thank you!", "repliedAt": "2026-11-21T09:00:00Z"},
                    "createdAt": "2026-11-20T12:00:00Z",
                    "updatedAt": "2026-11-20T12:00:00Z",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, listing_id: str) -> Response:
        listing = selectors.public_listing(public_id=listing_id)
        page = self.paginate_queryset(selectors.listing_reviews(listing=listing))
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)


@extend_schema(tags=TAGS)
class CategoryListView(PublicView):
    pagination_class = None

    @extend_schema(
        operation_id="marketplace_categories",
        summary="Marketplace categories with their published listing counts (no credentials)",
        responses=CategorySerializer(many=True),
        examples=[
            OpenApiExample(
                "Categories",
                value=[
                    {
                        "slug": "scheduling",
                        "name": "Scheduling",
                        "description": "Appointments, calendars and reminders.",
                        "listingCount": 4,
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        categories = selectors.categories_with_counts()
        return Response(CategorySerializer(categories, many=True).data)


class _OrderedListView(PublicView):
    serializer_class = ListingSerializer
    pagination_class = ListingCursorPagination
    listing_ordering: tuple[str, ...] = ()

    def listings(self) -> Any:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.listings())
        return self.get_paginated_response(ListingSerializer(page, many=True).data)


@extend_schema(tags=TAGS)
class FeaturedListView(_OrderedListView):
    listing_ordering = ("featured_position", "pk")

    def listings(self) -> Any:
        return selectors.featured_listings()

    @extend_schema(
        operation_id="marketplace_featured",
        summary="Featured listings in the order staff chose (no credentials)",
        responses=ListingSerializer(many=True),
        examples=[OpenApiExample("A listing", value=LISTING_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


@extend_schema(tags=TAGS)
class TrendingListView(_OrderedListView):
    listing_ordering = ("-trending_score", "-pk")

    def listings(self) -> Any:
        return selectors.trending_listings()

    @extend_schema(
        operation_id="marketplace_trending",
        responses=ListingSerializer(many=True),
        summary="Trending listings: most installs in the last 7 days, recent ones weighing "
        "more; computed every 15 minutes (no credentials)",
        examples=[OpenApiExample("A listing", value=LISTING_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
