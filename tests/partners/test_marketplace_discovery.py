"""Public discovery: search (full-text with typo tolerance on PostgreSQL, icontains on SQLite),
filters, sorting, any search text, featured, trending (the beat job), categories, detail."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partners.models import ListingStatus, MarketplaceInstallation, MarketplaceListing
from partners.services.marketplace import listings as services
from partners.services.marketplace.stats import trending_compute
from partners.tasks import marketplace_trending_task
from tests.partners.marketplace_helpers import (
    ACTOR,
    clinic_with_admin,
    draft_listing,
    published_listing,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/marketplace/listings"


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


@pytest.fixture
def catalogue():
    scheduler = published_listing(
        name="Acme Scheduler",
        tagline="Appointment calendar sync",
        categories=["scheduling"],
        pricing_model="subscription",
    )
    billing = published_listing(
        name="Ledger Billing",
        tagline="Claims and invoices",
        description="Collect payments from patients.",
        categories=["billing"],
        pricing_model="free",
    )
    draft = draft_listing(name="Hidden Scheduler", categories=["scheduling"])
    return scheduler, billing, draft


def test_only_published_listings_are_listed_newest_first(api_client, catalogue):
    assert _names(api_client.get(URL)) == ["Ledger Billing", "Acme Scheduler"]


def test_search_finds_by_name_tagline_and_description(api_client, catalogue):
    assert _names(api_client.get(URL, {"q": "scheduler"})) == ["Acme Scheduler"]
    assert _names(api_client.get(URL, {"q": "invoices"})) == ["Ledger Billing"]
    assert _names(api_client.get(URL, {"q": "payments"})) == ["Ledger Billing"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram similarity: PostgreSQL")
def test_search_tolerates_typos_on_postgresql(api_client, catalogue):
    assert _names(api_client.get(URL, {"q": "schedulr"})) == ["Acme Scheduler"]
    assert _names(api_client.get(URL, {"q": "ledgr"})) == ["Ledger Billing"]


def test_filters(api_client, catalogue):
    scheduler, billing, _ = catalogue
    assert _names(api_client.get(URL, {"category": "billing"})) == ["Ledger Billing"]
    assert _names(api_client.get(URL, {"pricingModel": "subscription"})) == ["Acme Scheduler"]
    assert _names(api_client.get(URL, {"partner": billing.partner.public_id})) == ["Ledger Billing"]
    MarketplaceListing.objects.filter(pk=scheduler.pk).update(rating_average=4.5)
    assert _names(api_client.get(URL, {"minRating": "4"})) == ["Acme Scheduler"]
    assert _names(api_client.get(URL, {"category": "crm"})) == []


def test_sorting(api_client, catalogue):
    scheduler, billing, _ = catalogue
    MarketplaceListing.objects.filter(pk=scheduler.pk).update(rating_average=4.0, install_count=1)
    MarketplaceListing.objects.filter(pk=billing.pk).update(rating_average=3.0, install_count=9)
    assert _names(api_client.get(URL, {"sort": "rating"})) == ["Acme Scheduler", "Ledger Billing"]
    assert _names(api_client.get(URL, {"sort": "installs"})) == [
        "Ledger Billing",
        "Acme Scheduler",
    ]
    assert _names(api_client.get(URL, {"sort": "newest"})) == ["Ledger Billing", "Acme Scheduler"]
    assert len(_names(api_client.get(URL, {"sort": "relevance"}))) == 2


def test_pages_follow_the_cursor_in_each_sort(api_client):
    for n in range(5):
        listing = published_listing(name=f"Sync tool {n}")
        MarketplaceListing.objects.filter(pk=listing.pk).update(install_count=n % 2)
    for params in ({"sort": "installs"}, {"q": "sync"}, {"sort": "relevance"}, {}):
        seen: list[str] = []
        response = api_client.get(URL, {**params, "pageSize": 2})
        while True:
            seen += _names(response)
            next_url = response.json()["next"]
            if not next_url:
                break
            response = api_client.get(next_url)
        assert sorted(seen) == [f"Sync tool {n}" for n in range(5)], params


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "popular"},
        {"minRating": "6"},
        {"minRating": "abc"},
        {"pricingModel": "gratis"},
        {"q": ""},
        {"q": "x" * 201},
        {"cursor": "bm9wZQ=="},
        {"cursor": "cD1hYmM="},  # p=abc
    ],
)
def test_bad_parameters_are_400_problems(api_client, params):
    published_listing()
    response = api_client.get(URL, {**params, "sort": params.get("sort", "relevance")})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.text(min_size=1, max_size=200).filter(lambda s: s.strip() and "\x00" not in s))
def test_any_search_text_answers(api_client, q):
    response = api_client.get(URL, {"q": q})
    assert response.status_code == 200, (q, response.content)


@pytest.mark.parametrize(
    "q",
    ["'", '"', "a & b | !c", "(((", "<->", ":*", "\\", "%_", "-", "or", "' OR 1=1 --", "日本語"],
)
def test_search_operators_and_quotes_never_error(api_client, q):
    published_listing(name="Acme Scheduler")
    assert api_client.get(URL, {"q": q}).status_code == 200


def test_detail_is_public_and_counts_views(api_client, catalogue):
    scheduler, _, draft = catalogue
    response = api_client.get(f"{URL}/{scheduler.public_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["partner"]["id"] == scheduler.partner.public_id
    assert body["categories"] == ["scheduling"]
    assert "status" not in body
    api_client.get(f"{URL}/{scheduler.public_id}")
    assert scheduler.days.get().views == 2
    assert api_client.get(f"{URL}/{draft.public_id}").status_code == 404
    assert api_client.get(f"{URL}/lst_nope").status_code == 404


def test_categories_with_counts(api_client, catalogue):
    response = api_client.get("/api/v1/marketplace/categories")
    assert response.status_code == 200
    counts = {c["slug"]: c["listingCount"] for c in response.json()}
    assert counts["scheduling"] == 1  # the draft does not count
    assert counts["billing"] == 1
    assert counts["crm"] == 0


def test_featured_in_staff_order(api_client, catalogue):
    scheduler, billing, _ = catalogue
    services.listing_feature(listing=billing, position=2, actor=ACTOR)
    services.listing_feature(listing=scheduler, position=1, actor=ACTOR)
    response = api_client.get("/api/v1/marketplace/featured")
    assert _names(response) == ["Acme Scheduler", "Ledger Billing"]
    services.listing_suspend(listing=scheduler, reason="x", actor=ACTOR)
    assert _names(api_client.get("/api/v1/marketplace/featured")) == ["Ledger Billing"]


def _installs(listing, *ages_in_hours: float) -> None:
    now = timezone.now()
    for age in ages_in_hours:
        clinic, admin = clinic_with_admin()
        MarketplaceInstallation.objects.create(
            listing=listing,
            clinic=clinic,
            installed_by=admin,
            installed_at=now - timedelta(hours=age),
            code_hash="x",
            scopes=[],
        )


def test_trending_weighs_recent_installs_and_forgets_old_ones(api_client, catalogue):
    scheduler, billing, _ = catalogue
    _installs(scheduler, 1, 2)  # two fresh installs
    _installs(billing, 100, 110, 120)  # three, four to five days old
    other = published_listing(name="Old news")
    _installs(other, 24 * 8)  # outside the window
    assert marketplace_trending_task.delay().get() == 2
    assert _names(api_client.get("/api/v1/marketplace/trending")) == [
        "Acme Scheduler",
        "Ledger Billing",
    ]
    scheduler.refresh_from_db()
    assert 1.9 < scheduler.trending_score <= 2.0
    # A day later the fresh installs have decayed, and a suspended listing leaves.
    services.listing_suspend(listing=scheduler, reason="x", actor=ACTOR)
    trending_compute(now=timezone.now() + timedelta(days=1))
    assert _names(api_client.get("/api/v1/marketplace/trending")) == ["Ledger Billing"]
    scheduler.refresh_from_db()
    assert scheduler.trending_score == 0


def test_the_trending_job_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="partners.marketplace_trending")
    assert task.enabled
    assert task.interval.every == 900


def test_public_endpoints_need_no_credentials(api_client):
    listing = published_listing()
    for path in ("listings", "featured", "trending", "categories"):
        assert api_client.get(f"/api/v1/marketplace/{path}").status_code == 200
    assert api_client.get(f"{URL}/{listing.public_id}/reviews").status_code == 200
    assert MarketplaceListing.objects.filter(status=ListingStatus.PUBLISHED).count() == 1


def test_the_demo_seed_publishes_and_features_a_listing(api_client):
    import io

    from partners import demo

    demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())  # idempotent
    featured = api_client.get("/api/v1/marketplace/featured").json()["results"]
    assert [item["name"] for item in featured] == ["Demo Scheduler"]
    assert MarketplaceListing.objects.count() == 1
