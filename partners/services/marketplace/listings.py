"""Listings: draft → in_review → published ⇄ suspended, and delisted. A partner lists one of its
published applications; staff approve or reject in the console. Changes to a published (or
suspended) listing wait in its pending revision until staff approve them."""

from typing import Any

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from partners.models import (
    ListingStatus,
    MarketplaceCategory,
    MarketplaceListing,
    MarketplaceListingMedia,
    MarketplaceListingRevision,
    Partner,
    PartnerApplication,
)
from partners.services.marketplace.content import markdown_render, plain_text
from rbac.models import User
from rbac.services import audit_record

Status = ListingStatus
EDITABLE_FIELDS = (
    "name",
    "tagline",
    "description",
    "categories",
    "pricing_model",
    "pricing_summary",
    "support_url",
    "privacy_policy_url",
    "scopes",
)


class InvalidListingTransition(ConflictError):
    code = "invalid_transition"


class ListingInvalid(DomainError):
    code = "listing_invalid"
    status = 400
    title = "The listing is not complete or not valid"


def actor_ref(actor: Actor | User) -> str:
    return actor.public_id if isinstance(actor, User) else actor.ref


def audit_listing(
    *,
    actor: Actor | User,
    action: str,
    listing: MarketplaceListing,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="marketplace_listing",
        target_ref=listing.public_id,
        reason=reason,
        metadata={"partner": listing.partner.public_id, **(metadata or {})},
    )


def locked_listing(listing: MarketplaceListing) -> MarketplaceListing:
    return (
        MarketplaceListing.objects.select_for_update()
        .select_related("partner", "application")
        .get(pk=listing.pk)
    )


def _transition(listing: MarketplaceListing, *allowed: str, to: str) -> MarketplaceListing:
    listing = locked_listing(listing)
    if listing.status not in allowed:
        raise InvalidListingTransition(
            f"A {listing.status} listing cannot become {to}.",
            extra={"currentStatus": listing.status},
        )
    return listing


def _categories(slugs: list[str]) -> list[MarketplaceCategory]:
    found = list(MarketplaceCategory.objects.filter(slug__in=set(slugs)))
    unknown = sorted(set(slugs) - {category.slug for category in found})
    if unknown:
        raise ListingInvalid(
            "Unknown categories.",
            extra={
                "errors": [{"field": "categories", "message": f"Unknown: {', '.join(unknown)}."}]
            },
        )
    return found


def _check_scopes(application: PartnerApplication, scopes: list[str]) -> None:
    allowed = set(application.oauth_client.scopes) if application.oauth_client else set()
    beyond = sorted(set(scopes) - allowed)
    if beyond:
        raise ListingInvalid(
            "A listing may ask only for scopes its application was approved for.",
            extra={
                "errors": [{"field": "scopes", "message": f"Not approved: {', '.join(beyond)}."}]
            },
        )


def _check_changes(listing: MarketplaceListing, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(f"Not changeable: {', '.join(sorted(unknown))}.")
    if "categories" in changes:
        _categories(changes["categories"])
    if "scopes" in changes:
        _check_scopes(listing.application, changes["scopes"])


def search_index_update(listing: MarketplaceListing) -> None:
    """Refresh what search reads (the caller holds the transaction)."""
    categories = " ".join(listing.categories.values_list("name", flat=True))
    document = " ".join(
        part
        for part in (
            listing.name,
            listing.tagline,
            categories,
            plain_text(listing.description_html),
        )
        if part
    )
    rows = MarketplaceListing.objects.filter(pk=listing.pk)
    rows.update(search_document=document)
    listing.search_document = document
    if connection.vendor == "postgresql":
        rows.update(
            search_vector=SearchVector("name", weight="A", config="english")
            + SearchVector("tagline", weight="B", config="english")
            + SearchVector("search_document", weight="C", config="english")
        )


def _apply(listing: MarketplaceListing, changes: dict[str, Any]) -> None:
    fields = [name for name in changes if name != "categories"]
    for name in fields:
        setattr(listing, name, changes[name])
    if "description" in changes:
        listing.description_html = markdown_render(listing.description)
        fields.append("description_html")
    listing.save(update_fields=[*fields, "updated_at"])
    if "categories" in changes:
        listing.categories.set(_categories(changes["categories"]))
    search_index_update(listing)


@transaction.atomic
def listing_create(
    *,
    partner: Partner,
    application: PartnerApplication,
    name: str,
    actor: Actor | User,
    **fields: Any,
) -> MarketplaceListing:
    """A draft listing of ``application`` (one of ``partner``'s, published)."""
    if application.partner_id != partner.pk:
        raise DomainError("The application is not yours.", code="not_found", status=404)
    if application.status != PartnerApplication.Status.PUBLISHED:
        raise ConflictError(
            "Only a published application can be listed.", code="application_not_published"
        )
    if (
        MarketplaceListing.objects.filter(application=application)
        .exclude(status=Status.DELISTED)
        .exists()
    ):
        raise ConflictError("This application is listed already.", code="already_listed")
    listing = MarketplaceListing(partner=partner, application=application, name=name)
    fields.setdefault("scopes", list(application.oauth_client.scopes))
    _check_changes(listing, fields)
    listing.save()
    _apply(listing, {"name": name, **fields})
    audit_listing(actor=actor, action="partner.marketplace.listing_created", listing=listing)
    return listing


def pending_revision_for(
    *, listing: MarketplaceListing, actor: Actor | User
) -> MarketplaceListingRevision:
    """The listing's pending revision, opened if there is none (listing locked by the caller)."""
    revision = listing.revisions.filter(status=MarketplaceListingRevision.Status.PENDING).first()
    if revision is None:
        revision = MarketplaceListingRevision.objects.create(
            listing=listing, changes={}, submitted_by=actor_ref(actor)
        )
    return revision


@transaction.atomic
def listing_update(
    *, listing: MarketplaceListing, actor: Actor | User, **changes: Any
) -> MarketplaceListing:
    """Change a draft at once; a published or suspended listing's changes go to its pending
    revision (shown to the public only once staff approve them)."""
    listing = locked_listing(listing)
    _check_changes(listing, changes)
    if listing.status == Status.DRAFT:
        _apply(listing, changes)
    elif listing.status in (Status.PUBLISHED, Status.SUSPENDED):
        revision = pending_revision_for(listing=listing, actor=actor)
        revision.changes = {**revision.changes, **changes}
        revision.submitted_by = actor_ref(actor)
        revision.save(update_fields=["changes", "submitted_by", "updated_at"])
    else:
        raise InvalidListingTransition(
            f"A {listing.status} listing cannot change.", extra={"currentStatus": listing.status}
        )
    audit_listing(
        actor=actor,
        action="partner.marketplace.listing_updated",
        listing=listing,
        metadata={"fields": sorted(changes), "pendingReview": listing.status != Status.DRAFT},
    )
    return listing


def listing_problems(listing: MarketplaceListing) -> list[dict[str, str]]:
    problems = []
    for field in ("tagline", "description"):
        if not getattr(listing, field).strip():
            problems.append({"field": field, "message": "Required to submit."})
    if not listing.categories.exists():
        problems.append({"field": "categories", "message": "At least one is required."})
    if not listing.scopes:
        problems.append({"field": "scopes", "message": "At least one is required."})
    return problems


@transaction.atomic
def listing_submit(*, listing: MarketplaceListing, actor: Actor | User) -> MarketplaceListing:
    listing = _transition(listing, Status.DRAFT, to=Status.IN_REVIEW)
    problems = listing_problems(listing)
    if problems:
        raise ListingInvalid("The listing is not complete.", extra={"errors": problems})
    listing.status = Status.IN_REVIEW
    listing.submitted_at = timezone.now()
    listing.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_listing(actor=actor, action="partner.marketplace.listing_submitted", listing=listing)
    return listing


def _reviewed(listing: MarketplaceListing, actor: Actor | User, status: str, reason: str) -> None:
    listing.status = status
    listing.status_reason = reason
    listing.reviewed_at = timezone.now()
    listing.reviewed_by = actor_ref(actor)
    fields = ["status", "status_reason", "reviewed_at", "reviewed_by", "updated_at"]
    if status == Status.PUBLISHED and listing.published_at is None:
        listing.published_at = listing.reviewed_at
        fields.append("published_at")
    listing.save(update_fields=fields)


@transaction.atomic
def listing_approve(*, listing: MarketplaceListing, actor: Actor | User) -> MarketplaceListing:
    """Staff: publish a listing in review."""
    listing = _transition(listing, Status.IN_REVIEW, to=Status.PUBLISHED)
    _reviewed(listing, actor, Status.PUBLISHED, "")
    audit_listing(actor=actor, action="partner.marketplace.listing_approved", listing=listing)
    return listing


@transaction.atomic
def listing_reject(
    *, listing: MarketplaceListing, reason: str, actor: Actor | User
) -> MarketplaceListing:
    """Staff: send a listing in review back to draft, with the reason."""
    if not reason.strip():
        raise DomainError("A reason is required.", code="reason_required")
    listing = _transition(listing, Status.IN_REVIEW, to=Status.DRAFT)
    _reviewed(listing, actor, Status.DRAFT, reason)
    audit_listing(
        actor=actor, action="partner.marketplace.listing_rejected", listing=listing, reason=reason
    )
    return listing


@transaction.atomic
def listing_suspend(
    *, listing: MarketplaceListing, reason: str, actor: Actor | User
) -> MarketplaceListing:
    if not reason.strip():
        raise DomainError("A reason is required.", code="reason_required")
    listing = _transition(listing, Status.PUBLISHED, to=Status.SUSPENDED)
    _reviewed(listing, actor, Status.SUSPENDED, reason)
    audit_listing(
        actor=actor, action="partner.marketplace.listing_suspended", listing=listing, reason=reason
    )
    return listing


@transaction.atomic
def listing_reinstate(*, listing: MarketplaceListing, actor: Actor | User) -> MarketplaceListing:
    listing = _transition(listing, Status.SUSPENDED, to=Status.PUBLISHED)
    _reviewed(listing, actor, Status.PUBLISHED, "")
    audit_listing(actor=actor, action="partner.marketplace.listing_reinstated", listing=listing)
    return listing


@transaction.atomic
def listing_delist(
    *, listing: MarketplaceListing, reason: str, actor: Actor | User
) -> MarketplaceListing:
    """Take a listing off the marketplace for good (installations stay until uninstalled)."""
    listing = _transition(
        listing, Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED, Status.SUSPENDED, to="delisted"
    )
    listing.status = Status.DELISTED
    listing.status_reason = reason
    listing.featured_position = None
    listing.save(update_fields=["status", "status_reason", "featured_position", "updated_at"])
    listing.revisions.filter(status=MarketplaceListingRevision.Status.PENDING).update(
        status=MarketplaceListingRevision.Status.REJECTED, review_notes="Listing delisted."
    )
    audit_listing(
        actor=actor, action="partner.marketplace.listing_delisted", listing=listing, reason=reason
    )
    return listing


@transaction.atomic
def listing_feature(
    *, listing: MarketplaceListing, position: int | None, actor: Actor | User
) -> MarketplaceListing:
    """Staff: feature a published listing at ``position`` (lower first), or stop (None)."""
    listing = locked_listing(listing)
    if position is not None and listing.status != Status.PUBLISHED:
        raise InvalidListingTransition("Only a published listing can be featured.")
    listing.featured_position = position
    listing.save(update_fields=["featured_position", "updated_at"])
    audit_listing(
        actor=actor,
        action="partner.marketplace.listing_featured",
        listing=listing,
        metadata={"position": position},
    )
    return listing


def _locked_pending(revision: MarketplaceListingRevision) -> MarketplaceListingRevision:
    revision = (
        MarketplaceListingRevision.objects.select_for_update()
        .select_related("listing", "listing__partner", "listing__application")
        .get(pk=revision.pk)
    )
    if revision.status != MarketplaceListingRevision.Status.PENDING:
        raise InvalidListingTransition(f"This revision is {revision.status} already.")
    return revision


@transaction.atomic
def revision_approve(
    *, revision: MarketplaceListingRevision, actor: Actor | User
) -> MarketplaceListing:
    """Staff: make a pending revision's changes (and images) public."""
    from partners.services.marketplace.media import media_delete

    revision = _locked_pending(revision)
    listing = locked_listing(revision.listing)
    changes = dict(revision.changes)
    removed = changes.pop("removeMedia", [])
    _check_changes(listing, changes)
    if changes:
        _apply(listing, changes)
    new_media = list(revision.new_media.all())
    if any(media.kind == MarketplaceListingMedia.Kind.LOGO for media in new_media):
        removed = [
            *removed,
            *listing.media.filter(
                kind=MarketplaceListingMedia.Kind.LOGO, revision__isnull=True
            ).values_list("public_id", flat=True),
        ]
    for media in listing.media.filter(public_id__in=removed, revision__isnull=True):
        media_delete(media)
    revision.new_media.update(revision=None)
    revision.status = MarketplaceListingRevision.Status.APPROVED
    revision.reviewed_at = timezone.now()
    revision.reviewed_by = actor_ref(actor)
    revision.save(update_fields=["status", "reviewed_at", "reviewed_by", "updated_at"])
    audit_listing(
        actor=actor,
        action="partner.marketplace.revision_approved",
        listing=listing,
        metadata={"revision": revision.public_id},
    )
    return listing


@transaction.atomic
def revision_reject(
    *, revision: MarketplaceListingRevision, reason: str, actor: Actor | User
) -> MarketplaceListingRevision:
    from partners.services.marketplace.media import media_delete

    if not reason.strip():
        raise DomainError("A reason is required.", code="reason_required")
    revision = _locked_pending(revision)
    for media in revision.new_media.all():
        media_delete(media)
    revision.status = MarketplaceListingRevision.Status.REJECTED
    revision.reviewed_at = timezone.now()
    revision.reviewed_by = actor_ref(actor)
    revision.review_notes = reason
    revision.save(
        update_fields=["status", "reviewed_at", "reviewed_by", "review_notes", "updated_at"]
    )
    audit_listing(
        actor=actor,
        action="partner.marketplace.revision_rejected",
        listing=revision.listing,
        reason=reason,
        metadata={"revision": revision.public_id},
    )
    return revision
