"""Marketplace reads: public discovery (search, featured, trending, categories, reviews), a
partner's own listings, a clinic user's installations. Tenancy lives here: a partner sees only
its listings, a clinic user only installations of clinics where they may manage apps."""

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection
from django.db.models import Case, Count, F, FloatField, Prefetch, Q, QuerySet, Value, When

from careos.errors import NotFoundError
from partners.models import (
    ListingStatus,
    MarketplaceCategory,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceListingMedia,
    MarketplaceListingRevision,
    MarketplaceReview,
    Partner,
)
from rbac.models import Clinic, User
from rbac.selectors import clinics_where, scope_to_user

MANAGE_APPS = "partners.manage_marketplace_apps"
SORTS = ("relevance", "rating", "installs", "newest")
# Cursor orderings by sort (the first field is the cursor's position).
ORDERINGS = {
    "relevance": ("-rank", "-pk"),
    "rating": ("-rating_average", "-pk"),
    "installs": ("-install_count", "-pk"),
    "newest": ("-published_at", "-pk"),
}


def _with_media(queryset: QuerySet[MarketplaceListing]) -> QuerySet[MarketplaceListing]:
    return queryset.select_related("partner", "application").prefetch_related(
        "categories",
        Prefetch(
            "media",
            queryset=MarketplaceListingMedia.objects.filter(revision__isnull=True),
            to_attr="visible_media",
        ),
    )


def published_listings() -> QuerySet[MarketplaceListing]:
    return _with_media(MarketplaceListing.objects.filter(status=ListingStatus.PUBLISHED))


def listing_search(
    *,
    q: str = "",
    category: str = "",
    pricing_model: str = "",
    min_rating: float | None = None,
    partner: str = "",
    sort: str = "",
) -> tuple[QuerySet[MarketplaceListing], tuple[str, ...]]:
    """Published listings matching the filters, with the cursor ordering of ``sort`` (default:
    relevance when searching, else newest). Full-text search with typo tolerance on PostgreSQL
    (weighted tsvector with websearch syntax, plus trigram word similarity on the name);
    ``icontains`` on other databases. Any text is a valid query."""
    queryset = published_listings()
    if category:
        queryset = queryset.filter(categories__slug=category)
    if pricing_model:
        queryset = queryset.filter(pricing_model=pricing_model)
    if min_rating is not None:
        queryset = queryset.filter(rating_average__gte=min_rating)
    if partner:
        queryset = queryset.filter(partner__public_id=partner)
    sort = sort or ("relevance" if q else "newest")
    if q:
        queryset = _search(queryset, q)
    elif sort == "relevance":
        queryset = queryset.annotate(rank=Value(0.0, output_field=FloatField()))
    return queryset, ORDERINGS[sort]


def _search(queryset: QuerySet[MarketplaceListing], q: str) -> QuerySet[MarketplaceListing]:
    if connection.vendor == "postgresql":
        query = SearchQuery(q, search_type="websearch", config="english")
        return queryset.filter(Q(search_vector=query) | Q(name__trigram_word_similar=q)).annotate(
            rank=SearchRank(F("search_vector"), query) + TrigramWordSimilarity(q, "name")
        )
    return queryset.filter(
        Q(name__icontains=q) | Q(tagline__icontains=q) | Q(search_document__icontains=q)
    ).annotate(
        rank=Case(
            When(name__icontains=q, then=Value(2.0)),
            When(tagline__icontains=q, then=Value(1.0)),
            default=Value(0.5),
            output_field=FloatField(),
        )
    )


def public_listing(*, public_id: str) -> MarketplaceListing:
    listing = published_listings().filter(public_id=public_id).first()
    if listing is None:
        raise NotFoundError("No listing with this id.")
    return listing


def featured_listings() -> QuerySet[MarketplaceListing]:
    return published_listings().filter(featured_position__isnull=False)


def trending_listings() -> QuerySet[MarketplaceListing]:
    return published_listings().filter(trending_score__gt=0)


def categories_with_counts() -> QuerySet[MarketplaceCategory]:
    return MarketplaceCategory.objects.annotate(
        listing_count=Count("listings", filter=Q(listings__status=ListingStatus.PUBLISHED))
    ).order_by("position", "slug")


def listing_reviews(*, listing: MarketplaceListing) -> QuerySet[MarketplaceReview]:
    """The visible reviews of ``listing`` (hidden ones left out)."""
    return MarketplaceReview.objects.filter(listing=listing, hidden_at__isnull=True).select_related(
        "clinic"
    )


def partner_listings(*, partner: Partner) -> QuerySet[MarketplaceListing]:
    return _with_media(MarketplaceListing.objects.filter(partner=partner)).prefetch_related(
        Prefetch(
            "revisions",
            queryset=MarketplaceListingRevision.objects.filter(
                status=MarketplaceListingRevision.Status.PENDING
            ).prefetch_related("new_media"),
            to_attr="pending_revisions",
        )
    )


def partner_listing(*, partner: Partner, public_id: str) -> MarketplaceListing:
    """One of ``partner``'s listings; another partner's is a 404."""
    listing = partner_listings(partner=partner).filter(public_id=public_id).first()
    if listing is None:
        raise NotFoundError("No listing with this id.")
    return listing


def partner_review(*, partner: Partner, public_id: str) -> MarketplaceReview:
    review = (
        MarketplaceReview.objects.filter(public_id=public_id, listing__partner=partner)
        .select_related("listing", "clinic")
        .first()
    )
    if review is None:
        raise NotFoundError("No review with this id.")
    return review


def manageable_clinic(*, user: User, clinic_public_id: str) -> Clinic:
    """A clinic where ``user`` may manage marketplace apps; any other is a 404."""
    clinic = clinics_where(user, MANAGE_APPS).filter(public_id=clinic_public_id).first()
    if clinic is None:
        raise NotFoundError("No such clinic.", code="clinic_not_found")
    return clinic


def clinic_installations(*, user: User) -> QuerySet[MarketplaceInstallation]:
    return scope_to_user(
        MarketplaceInstallation.objects.select_related("listing", "clinic", "installed_by"),
        user,
        MANAGE_APPS,
    )


def clinic_installation(*, user: User, public_id: str) -> MarketplaceInstallation:
    installation = clinic_installations(user=user).filter(public_id=public_id).first()
    if installation is None:
        raise NotFoundError("No installation with this id.")
    return installation
