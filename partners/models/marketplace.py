"""The marketplace: listings of partners' published applications, their media and pending
revisions, clinic installations, reviews, and daily figures for trending and analytics.

Aggregates a listing shows (rating average and count, installs, trending score) are kept on
the listing by the services that change them, so reads never recompute them."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from partners.models.applications import PartnerApplication
from partners.models.partner import Partner


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    SUSPENDED = "suspended", _("Suspended")
    DELISTED = "delisted", _("Delisted")


class PricingModel(models.TextChoices):
    FREE = "free", _("Free")
    FREEMIUM = "freemium", _("Freemium")
    SUBSCRIPTION = "subscription", _("Subscription")
    USAGE_BASED = "usage_based", _("Usage based")
    CONTACT_SALES = "contact_sales", _("Contact sales")


class MarketplaceCategory(models.Model):
    """A category listings are filed under (seeded by a data migration, staff may add)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "marketplace categories"

    def __str__(self) -> str:
        return self.name


class MarketplaceListing(TimeStampedModel):
    public_id = PublicIdField(prefix="lst")
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="marketplace_listings"
    )
    application = models.ForeignKey(
        PartnerApplication, on_delete=models.PROTECT, related_name="marketplace_listings"
    )
    name = models.CharField(max_length=120)
    tagline = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True, help_text=_("Markdown."))
    description_html = models.TextField(blank=True, editable=False)
    categories = models.ManyToManyField(MarketplaceCategory, blank=True, related_name="listings")
    pricing_model = models.CharField(
        max_length=20, choices=PricingModel.choices, default=PricingModel.FREE
    )
    pricing_summary = models.CharField(max_length=300, blank=True)
    support_url = models.URLField(max_length=500, blank=True)
    privacy_policy_url = models.URLField(max_length=500, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=ListingStatus.choices, default=ListingStatus.DRAFT
    )
    status_reason = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=120, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    featured_position = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Set to feature the listing; lower comes first.")
    )
    # Maintained by the services (never recomputed per request).
    rating_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_average = models.FloatField(default=0.0, db_index=True)
    install_count = models.PositiveIntegerField(default=0, db_index=True)
    active_install_count = models.PositiveIntegerField(default=0)
    trending_score = models.FloatField(default=0.0, db_index=True)
    # Name, tagline, categories and the description's text: what search reads (and, on
    # PostgreSQL, what the GIN full-text and trigram indexes of migration 0012 index).
    search_document = models.TextField(blank=True, editable=False)
    # Weighted (name A, tagline B, the rest C); filled on PostgreSQL only (SQLite searches
    # ``search_document`` with icontains).
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-published_at"]),
            models.Index(fields=["partner", "status"]),
        ]

    def __str__(self) -> str:
        return self.name


class MarketplaceListingMedia(TimeStampedModel):
    """A logo or screenshot, validated with Pillow and kept through Django's storage API.
    Uploaded to a published listing, it belongs to the pending revision (``revision``) and
    shows only once staff approve it."""

    class Kind(models.TextChoices):
        LOGO = "logo", _("Logo")
        SCREENSHOT = "screenshot", _("Screenshot")

    public_id = PublicIdField(prefix="med")
    listing = models.ForeignKey(MarketplaceListing, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file = models.FileField(upload_to="marketplace/%Y/%m/", max_length=300)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)
    revision = models.ForeignKey(
        "MarketplaceListingRevision",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="new_media",
    )

    class Meta:
        ordering = ["kind", "position", "id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.listing_id}"


class MarketplaceListingRevision(TimeStampedModel):
    """Changes to a published (or suspended) listing, waiting for staff review."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    public_id = PublicIdField(prefix="lrv")
    listing = models.ForeignKey(
        MarketplaceListing, on_delete=models.CASCADE, related_name="revisions"
    )
    changes = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.CharField(max_length=120, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=120, blank=True)
    review_notes = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["listing"],
                condition=Q(status="pending"),
                name="partners_listing_one_pending_revision",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class MarketplaceInstallation(TimeStampedModel):
    """A clinic's installation of a listing: the OAuth consent of a clinic admin for the app's
    scopes, bound to the clinic. ``code_hash`` is the SHA-256 of the authorization code issued
    with the consent; the tokens exchanged for it are the ones uninstalling revokes."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        UNINSTALLED = "uninstalled", _("Uninstalled")

    public_id = PublicIdField(prefix="ins")
    listing = models.ForeignKey(
        MarketplaceListing, on_delete=models.PROTECT, related_name="installations"
    )
    clinic = models.ForeignKey(
        "rbac.Clinic", on_delete=models.CASCADE, related_name="marketplace_installations"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    scopes = models.JSONField(default=list)
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    installed_at = models.DateTimeField(db_index=True)
    code_hash = models.CharField(max_length=64, editable=False)
    uninstalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uninstalled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("manage_marketplace_apps", "Install, uninstall and review marketplace apps"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "clinic"],
                condition=Q(status="active"),
                name="partners_installation_one_active",
            )
        ]
        indexes = [models.Index(fields=["clinic", "status"])]

    def __str__(self) -> str:
        return self.public_id


class MarketplaceReview(TimeStampedModel):
    """One clinic's rating of a listing (editable; every version kept as a revision)."""

    public_id = PublicIdField(prefix="rev")
    listing = models.ForeignKey(
        MarketplaceListing, on_delete=models.CASCADE, related_name="reviews"
    )
    clinic = models.ForeignKey(
        "rbac.Clinic", on_delete=models.CASCADE, related_name="marketplace_reviews"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    body = models.TextField(blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.CharField(max_length=120, blank=True)
    hidden_reason = models.TextField(blank=True)
    reply_body = models.TextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "clinic"], name="partners_review_one_per_clinic"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="partners_review_rating_1_5"
            ),
        ]
        indexes = [models.Index(fields=["listing", "hidden_at", "-created_at"])]

    def __str__(self) -> str:
        return self.public_id


class MarketplaceReviewRevision(models.Model):
    """A former version of a review, kept when it is edited."""

    review = models.ForeignKey(MarketplaceReview, on_delete=models.CASCADE, related_name="history")
    rating = models.PositiveSmallIntegerField()
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["-written_at", "-id"]

    def __str__(self) -> str:
        return f"{self.review_id} at {self.written_at:%Y-%m-%d %H:%M}"


class MarketplaceListingDay(models.Model):
    """A listing's figures for one UTC day: views, installs, uninstalls, and the rating as it
    stood at the day's last change (the analytics' rating over time)."""

    listing = models.ForeignKey(MarketplaceListing, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    installs = models.PositiveIntegerField(default=0)
    uninstalls = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(null=True, blank=True)
    rating_average = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["listing", "day"], name="partners_listing_day_uniq")
        ]
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.listing_id} on {self.day}"
