"""Serializers of the marketplace API (public discovery, partner listings, clinic installs and
reviews)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import Serializer
from partners.marketplace_selectors import SORTS
from partners.models import (
    ListingStatus,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceListingMedia,
    MarketplaceReview,
    PricingModel,
)
from partners.scopes import SCOPE_CHOICES

TEXT_MAX = 5000
DESCRIPTION_MAX = 5000


class CategorySerializer(Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    listing_count = serializers.IntegerField(help_text="Published listings in the category.")


class MediaSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    kind = serializers.ChoiceField(choices=MarketplaceListingMedia.Kind.choices)
    url = serializers.SerializerMethodField()
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField()

    @extend_schema_field(serializers.CharField())
    def get_url(self, media: MarketplaceListingMedia) -> str:
        return media.file.url


class ListingPartnerSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()


def _visible_media(listing: MarketplaceListing) -> list[MarketplaceListingMedia]:
    media = getattr(listing, "visible_media", None)
    if media is None:
        media = list(listing.media.filter(revision__isnull=True))
    return media


class ListingSerializer(Serializer):
    """A listing as the marketplace shows it."""

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    tagline = serializers.CharField()
    description_html = serializers.CharField(help_text="The Markdown description, sanitised.")
    categories = serializers.SerializerMethodField()
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices)
    pricing_summary = serializers.CharField()
    support_url = serializers.CharField()
    privacy_policy_url = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    partner = ListingPartnerSerializer()
    application_id = serializers.CharField(source="application.public_id")
    logo = serializers.SerializerMethodField()
    screenshots = serializers.SerializerMethodField()
    rating_average = serializers.FloatField()
    rating_count = serializers.IntegerField()
    install_count = serializers.IntegerField()
    trending_score = serializers.FloatField()
    featured_position = serializers.IntegerField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)

    def get_categories(self, listing: MarketplaceListing) -> list[str]:
        return sorted(category.slug for category in listing.categories.all())

    @extend_schema_field(MediaSerializer(allow_null=True))
    def get_logo(self, listing: MarketplaceListing) -> dict[str, Any] | None:
        logos = [m for m in _visible_media(listing) if m.kind == MarketplaceListingMedia.Kind.LOGO]
        return MediaSerializer(logos[-1]).data if logos else None

    @extend_schema_field(MediaSerializer(many=True))
    def get_screenshots(self, listing: MarketplaceListing) -> list[dict[str, Any]]:
        shots = [m for m in _visible_media(listing) if m.kind == "screenshot"]
        return MediaSerializer(shots, many=True).data


class RevisionSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    changes = serializers.DictField(help_text="The fields changed, as the partner sent them.")
    new_media = MediaSerializer(many=True)
    created_at = serializers.DateTimeField()


class PartnerListingSerializer(ListingSerializer):
    """A partner's own listing: also its status, Markdown source and pending revision."""

    status = serializers.ChoiceField(choices=ListingStatus.choices)
    status_reason = serializers.CharField()
    description = serializers.CharField()
    active_install_count = serializers.IntegerField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    pending_revision = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(RevisionSerializer(allow_null=True))
    def get_pending_revision(self, listing: MarketplaceListing) -> dict[str, Any] | None:
        pending = getattr(listing, "pending_revisions", None)
        if pending is None:
            pending = list(listing.revisions.filter(status="pending"))
        return RevisionSerializer(pending[0]).data if pending else None


class ListingInputSerializer(Serializer):
    name = serializers.CharField(max_length=120)
    tagline = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX, required=False, allow_blank=True, help_text="Markdown."
    )
    categories = serializers.ListField(
        child=serializers.SlugField(max_length=60),
        required=False,
        max_length=5,
        help_text="Category slugs (GET /api/v1/marketplace/categories).",
    )
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices, required=False)
    pricing_summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    support_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    privacy_policy_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES),
        required=False,
        allow_empty=False,
        help_text="Defaults to every scope the application was approved for.",
    )


class ListingCreateSerializer(ListingInputSerializer):
    application_id = serializers.CharField(max_length=40, help_text="A published application.")


# Base64 of an image of at most MARKETPLACE_IMAGE_MAX_BYTES (1.5 MiB by default), within the
# request body limit.
IMAGE_BASE64_MAX = 2_097_152


class MediaUploadSerializer(Serializer):
    kind = serializers.ChoiceField(choices=MarketplaceListingMedia.Kind.choices)
    content = serializers.RegexField(
        r"^[A-Za-z0-9+/]+={0,2}$",
        max_length=IMAGE_BASE64_MAX,
        help_text="The image file (PNG, JPEG or WebP), base64-encoded.",
    )


class ListingFilters(QueryFilters):
    q = serializers.CharField(max_length=200, required=False, help_text="Search text (any).")
    category = serializers.SlugField(max_length=60, required=False)
    pricing_model = serializers.ChoiceField(choices=PricingModel.choices, required=False)
    min_rating = serializers.FloatField(min_value=0, max_value=5, required=False)
    partner = serializers.CharField(max_length=40, required=False, help_text="A partner id.")
    sort = serializers.ChoiceField(
        choices=SORTS,
        required=False,
        help_text="relevance (default when searching), rating, installs or newest (default).",
    )


class ReviewReplySerializer(Serializer):
    body = serializers.CharField()
    replied_at = serializers.DateTimeField()


class ReviewSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    listing_id = serializers.CharField(source="listing.public_id")
    clinic_name = serializers.CharField(source="clinic.name")
    rating = serializers.IntegerField()
    body = serializers.CharField()
    reply = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(ReviewReplySerializer(allow_null=True))
    def get_reply(self, review: MarketplaceReview) -> dict[str, Any] | None:
        if review.replied_at is None:
            return None
        return ReviewReplySerializer(
            {"body": review.reply_body, "replied_at": review.replied_at}
        ).data


class ReviewInputSerializer(Serializer):
    clinic_id = serializers.CharField(max_length=40, help_text="The reviewing clinic.")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    body = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, required=False, default="")


class ReplyInputSerializer(Serializer):
    body = serializers.CharField(max_length=TEXT_MAX)


class InstallInputSerializer(Serializer):
    listing_id = serializers.CharField(max_length=40)
    clinic_id = serializers.CharField(max_length=40)
    redirect_uri = serializers.CharField(
        max_length=2000, required=False, help_text="One of the app's; its first by default."
    )
    state = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    code_challenge = serializers.RegexField(
        r"^[A-Za-z0-9_-]{43}$",
        help_text="The app's PKCE challenge (S256: BASE64URL(SHA256(verifier)), 43 characters); "
        "the app sends the verifier with the code to /o/token/.",
    )


class InstallationSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    listing_id = serializers.CharField(source="listing.public_id")
    listing_name = serializers.CharField(source="listing.name")
    clinic_id = serializers.CharField(source="clinic.public_id")
    status = serializers.ChoiceField(choices=MarketplaceInstallation.Status.choices)
    scopes = serializers.ListField(child=serializers.CharField())
    installed_by = serializers.CharField(source="installed_by.public_id")
    installed_at = serializers.DateTimeField()
    uninstalled_at = serializers.DateTimeField(allow_null=True)


class InstallResultSerializer(Serializer):
    installation = InstallationSerializer()
    redirect_to = serializers.CharField(
        help_text="Send the admin's browser here: the app's redirect URI with the code."
    )


class AnalyticsDaySerializer(Serializer):
    day = serializers.DateField()
    views = serializers.IntegerField()
    installs = serializers.IntegerField()
    uninstalls = serializers.IntegerField()
    rating_count = serializers.IntegerField()
    rating_average = serializers.FloatField()


class AnalyticsSerializer(Serializer):
    listing_id = serializers.CharField(source="listing.public_id")
    since = serializers.DateField()
    until = serializers.DateField()
    views = serializers.IntegerField()
    installs = serializers.IntegerField()
    uninstalls = serializers.IntegerField()
    active_installs = serializers.IntegerField()
    rating_average = serializers.FloatField()
    rating_count = serializers.IntegerField()
    days = AnalyticsDaySerializer(many=True)


class AnalyticsFilters(QueryFilters):
    days = serializers.IntegerField(
        min_value=1, max_value=366, required=False, help_text="Days back from today (30)."
    )
