"""Reviews: a clinic with the listing installed rates it 1-5 with a text (one review per clinic,
editable, each former version kept); the partner replies once; staff hide a review with a
reason. The listing's rating count, sum and average change with each of these, under the
listing's row lock, so reads never recompute them."""

from django.db import transaction
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError, PermissionDeniedError
from partners.models import (
    ListingStatus,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceReview,
    MarketplaceReviewRevision,
    Partner,
)
from partners.services.marketplace.listings import actor_ref
from partners.services.marketplace.stats import day_rating_snapshot
from rbac.models import Clinic, User
from rbac.services import audit_record


class NotInstalled(PermissionDeniedError):
    code = "not_installed"
    title = "Only a clinic with the app installed may review it"


def _rating_change(listing: MarketplaceListing, *, count: int, total: int) -> None:
    """Apply a change of the visible ratings to the locked ``listing``."""
    listing.rating_count += count
    listing.rating_sum += total
    listing.rating_average = (
        round(listing.rating_sum / listing.rating_count, 4) if listing.rating_count else 0.0
    )
    listing.save(update_fields=["rating_count", "rating_sum", "rating_average", "updated_at"])
    day_rating_snapshot(listing)


def _locked_listing(listing_id: int) -> MarketplaceListing:
    return MarketplaceListing.objects.select_for_update().get(pk=listing_id)


def _audit(
    *, actor: Actor | User, action: str, review: MarketplaceReview, **kwargs: object
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="marketplace_review",
        target_ref=review.public_id,
        clinic=review.clinic,
        metadata={"listing": review.listing.public_id},
        **kwargs,  # type: ignore[arg-type]
    )


@transaction.atomic
def review_write(
    *, listing: MarketplaceListing, clinic: Clinic, user: User, rating: int, body: str
) -> tuple[MarketplaceReview, bool]:
    """Create or change ``clinic``'s review of ``listing``; returns it and whether it is new.
    Raises ``NotInstalled`` (403) when the clinic has not installed the listing."""
    if not 1 <= rating <= 5:
        raise DomainError("A rating is a whole number from 1 to 5.", code="invalid_rating")
    listing = _locked_listing(listing.pk)
    if listing.status != ListingStatus.PUBLISHED:
        raise ConflictError("Only a published listing can be reviewed.", code="not_reviewable")
    if not MarketplaceInstallation.objects.filter(
        listing=listing, clinic=clinic, status=MarketplaceInstallation.Status.ACTIVE
    ).exists():
        raise NotInstalled("Install the app in this clinic before reviewing it.")
    review = (
        MarketplaceReview.objects.select_for_update().filter(listing=listing, clinic=clinic).first()
    )
    created = review is None
    if review is None:
        review = MarketplaceReview.objects.create(
            listing=listing, clinic=clinic, author=user, rating=rating, body=body
        )
        _rating_change(listing, count=1, total=rating)
    else:
        MarketplaceReviewRevision.objects.create(
            review=review,
            rating=review.rating,
            body=review.body,
            author_id=review.author_id,
            written_at=review.updated_at,
        )
        if review.hidden_at is None:
            _rating_change(listing, count=0, total=rating - review.rating)
        review.rating, review.body, review.author = rating, body, user
        review.save(update_fields=["rating", "body", "author", "updated_at"])
    review.listing = listing
    _audit(
        actor=user,
        action="partner.marketplace.review_written",
        review=review,
    )
    return review, created


@transaction.atomic
def review_reply(
    *, review: MarketplaceReview, partner: Partner, body: str, actor: Actor
) -> MarketplaceReview:
    """The listing's partner answers a review, once."""
    review = (
        MarketplaceReview.objects.select_for_update()
        .select_related("listing", "clinic")
        .get(pk=review.pk)
    )
    if review.listing.partner_id != partner.pk:
        raise DomainError("No review with this id.", code="not_found", status=404)
    if review.replied_at is not None:
        raise ConflictError("This review has a reply already.", code="already_replied")
    if not body.strip():
        raise DomainError("A reply needs a text.", code="reply_required")
    review.reply_body = body
    review.replied_at = timezone.now()
    review.save(update_fields=["reply_body", "replied_at", "updated_at"])
    _audit(actor=actor, action="partner.marketplace.review_replied", review=review)
    return review


@transaction.atomic
def review_hide(
    *, review: MarketplaceReview, reason: str, actor: Actor | User
) -> MarketplaceReview:
    """Staff: hide a review (it leaves the listing's rating) with the reason."""
    if not reason.strip():
        raise DomainError("A reason is required.", code="reason_required")
    listing = _locked_listing(review.listing_id)
    review = (
        MarketplaceReview.objects.select_for_update().select_related("clinic").get(pk=review.pk)
    )
    if review.hidden_at is not None:
        raise ConflictError("This review is hidden already.")
    review.hidden_at = timezone.now()
    review.hidden_by = actor_ref(actor)
    review.hidden_reason = reason
    review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
    _rating_change(listing, count=-1, total=-review.rating)
    review.listing = listing
    _audit(actor=actor, action="partner.marketplace.review_hidden", review=review, reason=reason)
    return review


@transaction.atomic
def review_unhide(*, review: MarketplaceReview, actor: Actor | User) -> MarketplaceReview:
    listing = _locked_listing(review.listing_id)
    review = (
        MarketplaceReview.objects.select_for_update().select_related("clinic").get(pk=review.pk)
    )
    if review.hidden_at is None:
        raise ConflictError("This review is not hidden.")
    review.hidden_at = None
    review.hidden_by = ""
    review.hidden_reason = ""
    review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason", "updated_at"])
    _rating_change(listing, count=1, total=review.rating)
    review.listing = listing
    _audit(actor=actor, action="partner.marketplace.review_shown", review=review)
    return review
