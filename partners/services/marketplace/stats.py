"""Per-day figures of a listing (views, installs, uninstalls, rating as it stood), the trending
scores the beat job computes from recent installs, and the partner's analytics of a listing."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from partners.models import (
    ListingStatus,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceListingDay,
)


def day_bump(*, listing_id: int, day: date | None = None, **increments: int) -> None:
    """Add ``increments`` (``views=1``) to the listing's row of ``day`` (today, UTC)."""
    day = day or timezone.now().date()
    rows = MarketplaceListingDay.objects.filter(listing_id=listing_id, day=day)
    if rows.update(**{name: F(name) + value for name, value in increments.items()}):
        return
    try:
        with transaction.atomic():
            MarketplaceListingDay.objects.create(listing_id=listing_id, day=day, **increments)
    except IntegrityError:  # created meanwhile by a concurrent request
        rows.update(**{name: F(name) + value for name, value in increments.items()})


def day_rating_snapshot(listing: MarketplaceListing) -> None:
    """Record the listing's current rating as today's (the caller holds the transaction)."""
    values = {"rating_count": listing.rating_count, "rating_average": listing.rating_average}
    day = timezone.now().date()
    if not MarketplaceListingDay.objects.filter(listing=listing, day=day).update(**values):
        day_bump(listing_id=listing.pk, day=day, views=0)
        MarketplaceListingDay.objects.filter(listing=listing, day=day).update(**values)


def trending_compute(*, now: datetime | None = None) -> int:
    """Score every published listing by its installs of the last
    ``MARKETPLACE_TRENDING_WINDOW_DAYS`` days, each weighted ``0.5 ** (age / half-life)``;
    listings without any get 0. Returns how many listings have a score."""
    now = now or timezone.now()
    window = timedelta(days=settings.MARKETPLACE_TRENDING_WINDOW_DAYS)
    half_life = settings.MARKETPLACE_TRENDING_HALF_LIFE_DAYS * 86400
    scores: dict[int, float] = {}
    recent = MarketplaceInstallation.objects.filter(
        installed_at__gt=now - window,
        installed_at__lte=now,
        listing__status=ListingStatus.PUBLISHED,
    ).values_list("listing_id", "installed_at")
    for listing_id, installed_at in recent.iterator(chunk_size=2000):
        age = max((now - installed_at).total_seconds(), 0.0)
        scores[listing_id] = scores.get(listing_id, 0.0) + 0.5 ** (age / half_life)
    with transaction.atomic():
        MarketplaceListing.objects.filter(trending_score__gt=0).exclude(pk__in=list(scores)).update(
            trending_score=0.0
        )
        listings = list(MarketplaceListing.objects.filter(pk__in=list(scores)).only("pk"))
        for listing in listings:
            listing.trending_score = round(scores[listing.pk], 6)
        MarketplaceListing.objects.bulk_update(listings, ["trending_score"], batch_size=500)
    return len(scores)


@dataclass(frozen=True)
class ListingAnalytics:
    listing: MarketplaceListing
    since: date
    until: date
    views: int
    installs: int
    uninstalls: int
    active_installs: int
    rating_average: float
    rating_count: int
    days: list[MarketplaceListingDay]


def listing_analytics(*, listing: MarketplaceListing, since: date, until: date) -> ListingAnalytics:
    """Totals of the period, the listing's standing figures, and one row per day that had any
    activity; each day's rating is the rating as it stood at the end of that day (carried
    forward from the last day that changed it)."""
    days = list(
        MarketplaceListingDay.objects.filter(listing=listing, day__gte=since, day__lte=until)
    )
    totals = MarketplaceListingDay.objects.filter(
        listing=listing, day__gte=since, day__lte=until
    ).aggregate(views=Sum("views"), installs=Sum("installs"), uninstalls=Sum("uninstalls"))
    before = (
        MarketplaceListingDay.objects.filter(
            listing=listing, day__lt=since, rating_count__isnull=False
        )
        .order_by("-day")
        .values_list("rating_count", "rating_average")
        .first()
    )
    count, average = before if before else (0, 0.0)
    for row in days:
        if row.rating_count is None:
            row.rating_count, row.rating_average = count, average
        else:
            count, average = row.rating_count, row.rating_average
    return ListingAnalytics(
        listing=listing,
        since=since,
        until=until,
        views=totals["views"] or 0,
        installs=totals["installs"] or 0,
        uninstalls=totals["uninstalls"] or 0,
        active_installs=listing.active_install_count,
        rating_average=listing.rating_average,
        rating_count=listing.rating_count,
        days=days,
    )
