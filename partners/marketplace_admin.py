"""Console for the marketplace (platform staff): review and moderate listings and their pending
revisions, feature listings in order, hide reviews with a reason; installations read-only.
Every action calls a service (audited there)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest

from careos.errors import DomainError
from partners.models import (
    MarketplaceCategory,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceListingMedia,
    MarketplaceListingRevision,
    MarketplaceReview,
)
from partners.services.marketplace import listings as services
from partners.services.marketplace import reviews as review_services


class ModerationActionForm(ActionForm):
    reason = forms.CharField(
        required=False, label="Reason", help_text="Required to reject, suspend, delist or hide."
    )
    position = forms.IntegerField(
        required=False, min_value=1, label="Position", help_text="To feature (empty: unfeature)."
    )


def _each(
    request: HttpRequest, queryset: QuerySet, action: Callable[[Any], Any], done: str
) -> None:
    count = 0
    for obj in queryset:
        try:
            action(obj)
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
            continue
        count += 1
    if count:
        messages.success(request, f"{done}: {count}.")


def _reason(request: HttpRequest, verb: str) -> str | None:
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, f"Type a reason in the action bar to {verb}.")
        return None
    return reason


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MediaInline(_ReadOnlyInline):
    model = MarketplaceListingMedia
    fields = ["public_id", "kind", "file", "content_type", "width", "height", "revision"]
    readonly_fields = fields


class RevisionInline(_ReadOnlyInline):
    model = MarketplaceListingRevision
    fields = ["public_id", "status", "changes", "submitted_by", "reviewed_by", "review_notes"]
    readonly_fields = fields


@admin.register(MarketplaceListing)
class MarketplaceListingAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "partner",
        "status",
        "has_pending_revision",
        "featured_position",
        "rating_average",
        "rating_count",
        "install_count",
        "active_install_count",
        "trending_score",
    ]
    list_filter = ["status", "pricing_model", "categories"]
    list_select_related = ["partner"]
    search_fields = ["name", "public_id", "partner__slug", "partner__name"]
    fields = [
        "public_id",
        "partner",
        "application",
        "status",
        "status_reason",
        "name",
        "tagline",
        "description",
        "categories",
        "pricing_model",
        "pricing_summary",
        "support_url",
        "privacy_policy_url",
        "scopes",
        "featured_position",
        "rating_average",
        "rating_count",
        "install_count",
        "active_install_count",
        "trending_score",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "published_at",
    ]
    readonly_fields = fields
    inlines = [MediaInline, RevisionInline]
    actions = [
        "approve",
        "reject",
        "suspend",
        "reinstate",
        "delist",
        "feature",
        "approve_revision",
        "reject_revision",
    ]
    action_form = ModerationActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners create listings through the API

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        pending = MarketplaceListingRevision.objects.filter(
            listing=OuterRef("pk"), status=MarketplaceListingRevision.Status.PENDING
        )
        return super().get_queryset(request).annotate(pending=Exists(pending))

    @admin.display(boolean=True, description="Pending changes", ordering="pending")
    def has_pending_revision(self, listing: MarketplaceListing) -> bool:
        return bool(getattr(listing, "pending", False))

    def _with_reason(
        self, request: HttpRequest, queryset: QuerySet, verb: str, service: Callable, done: str
    ) -> None:
        reason = _reason(request, verb)
        if reason is not None:
            _each(
                request,
                queryset,
                lambda listing: service(listing=listing, reason=reason, actor=request.user),
                done,
            )

    @admin.action(description="Approve and publish (listings in review)")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(
            request,
            queryset,
            lambda listing: services.listing_approve(listing=listing, actor=request.user),
            "Published",
        )

    @admin.action(description="Reject back to draft (reason)")
    def reject(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._with_reason(request, queryset, "reject", services.listing_reject, "Rejected")

    @admin.action(description="Suspend (reason)")
    def suspend(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._with_reason(request, queryset, "suspend", services.listing_suspend, "Suspended")

    @admin.action(description="Reinstate suspended listings")
    def reinstate(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(
            request,
            queryset,
            lambda listing: services.listing_reinstate(listing=listing, actor=request.user),
            "Reinstated",
        )

    @admin.action(description="Delist for good (reason)")
    def delist(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._with_reason(request, queryset, "delist", services.listing_delist, "Delisted")

    @admin.action(description="Feature at the position typed (empty: unfeature)")
    def feature(self, request: HttpRequest, queryset: QuerySet) -> None:
        raw = request.POST.get("position", "").strip()
        if raw and not raw.isdigit():
            messages.error(request, "The position is a whole number from 1.")
            return
        position = int(raw) if raw else None
        _each(
            request,
            queryset,
            lambda listing: services.listing_feature(
                listing=listing, position=position, actor=request.user
            ),
            "Featured" if position else "Unfeatured",
        )

    def _pending(self, listing: MarketplaceListing) -> MarketplaceListingRevision:
        revision = listing.revisions.filter(
            status=MarketplaceListingRevision.Status.PENDING
        ).first()
        if revision is None:
            raise DomainError("No pending changes.")
        return revision

    @admin.action(description="Approve pending changes")
    def approve_revision(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(
            request,
            queryset,
            lambda listing: services.revision_approve(
                revision=self._pending(listing), actor=request.user
            ),
            "Changes published",
        )

    @admin.action(description="Reject pending changes (reason)")
    def reject_revision(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = _reason(request, "reject the changes")
        if reason is not None:
            _each(
                request,
                queryset,
                lambda listing: services.revision_reject(
                    revision=self._pending(listing), reason=reason, actor=request.user
                ),
                "Changes rejected",
            )


@admin.register(MarketplaceReview)
class MarketplaceReviewAdmin(admin.ModelAdmin):
    list_display = ["public_id", "listing", "clinic", "rating", "hidden_at", "replied_at"]
    list_filter = ["rating", ("hidden_at", admin.EmptyFieldListFilter)]
    list_select_related = ["listing", "clinic"]
    search_fields = ["public_id", "listing__name", "clinic__name"]
    fields = [
        "public_id",
        "listing",
        "clinic",
        "rating",
        "body",
        "reply_body",
        "replied_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
    ]
    readonly_fields = fields
    actions = ["hide", "unhide"]
    action_form = ModerationActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Hide (reason)")
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = _reason(request, "hide")
        if reason is not None:
            _each(
                request,
                queryset,
                lambda review: review_services.review_hide(
                    review=review, reason=reason, actor=request.user
                ),
                "Hidden",
            )

    @admin.action(description="Show again")
    def unhide(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(
            request,
            queryset,
            lambda review: review_services.review_unhide(review=review, actor=request.user),
            "Shown",
        )


@admin.register(MarketplaceInstallation)
class MarketplaceInstallationAdmin(admin.ModelAdmin):
    list_display = ["public_id", "listing", "clinic", "status", "installed_at", "uninstalled_at"]
    list_filter = ["status"]
    list_select_related = ["listing", "clinic"]
    search_fields = ["public_id", "listing__name", "clinic__name"]
    readonly_fields = [
        "public_id",
        "listing",
        "clinic",
        "status",
        "scopes",
        "installed_by",
        "installed_at",
        "uninstalled_by",
        "uninstalled_at",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MarketplaceCategory)
class MarketplaceCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    search_fields = ["name", "slug"]
