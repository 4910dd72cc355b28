"""Installing and uninstalling for a clinic (rbac: clinic admins only, other clinics are 404),
and clinic reviews: installed clinics only, one per clinic, edits kept, partner replies once,
staff hide with a reason, the listing's rating maintained."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partners.models import (
    MarketplaceInstallation,
    MarketplaceReview,
    MarketplaceReviewRevision,
)
from partners.services.marketplace import reviews as review_services
from rbac.models import User
from tests.partners.factories import PartnerFactory
from tests.partners.marketplace_helpers import (
    ACTOR,
    clinic_with_admin,
    draft_listing,
    published_listing,
    signed_in,
)
from tests.partners.oauth_flows import pkce

pytestmark = pytest.mark.django_db
INSTALLS = "/api/v1/marketplace/installations"


def _install(browser, listing, clinic, **extra):
    body = {
        "listingId": listing.public_id,
        "clinicId": clinic.public_id,
        "codeChallenge": pkce()[1],
    } | extra
    return browser.post(INSTALLS, body, content_type="application/json")


def _review(browser, listing, clinic, rating=5, body="Great"):
    return browser.put(
        f"/api/v1/marketplace/listings/{listing.public_id}/my-review",
        {"clinicId": clinic.public_id, "rating": rating, "body": body},
        content_type="application/json",
    )


@pytest.fixture
def listing():
    return published_listing()


@pytest.fixture
def admin_clinic():
    return clinic_with_admin()


def test_install_records_the_consent(listing, admin_clinic):
    clinic, admin = admin_clinic
    response = _install(signed_in(admin), listing, clinic)
    assert response.status_code == 201, response.content
    installation = MarketplaceInstallation.objects.get()
    assert installation.status == "active"
    assert installation.scopes == ["read:leads", "read:partner"]
    listing.refresh_from_db()
    assert (listing.install_count, listing.active_install_count) == (1, 1)
    assert listing.days.get().installs == 1


def test_install_is_refused_without_a_session_or_the_permission(listing, admin_clinic):
    clinic, _ = admin_clinic
    assert _install(Client(), listing, clinic).status_code in (401, 403)
    agent_clinic, agent = clinic_with_admin(role_slug="support_agent")
    response = _install(signed_in(agent), listing, agent_clinic)
    assert response.status_code == 403
    assert not MarketplaceInstallation.objects.exists()


def test_another_clinic_and_unlisted_listings_are_404(listing, admin_clinic):
    clinic, admin = admin_clinic
    other_clinic, _ = clinic_with_admin()
    response = _install(signed_in(admin), listing, other_clinic)
    assert response.status_code == 404
    assert response.json()["code"] == "clinic_not_found"
    response = _install(signed_in(admin), draft_listing(), clinic)
    assert response.status_code == 404
    assert not MarketplaceInstallation.objects.exists()


def test_install_input_is_checked(listing, admin_clinic):
    clinic, admin = admin_clinic
    browser = signed_in(admin)
    response = _install(browser, listing, clinic, codeChallenge="short")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    response = _install(browser, listing, clinic, redirectUri="https://evil.example.com/cb")
    assert response.status_code == 400
    assert response.json()["code"] == "install_invalid"
    assert not MarketplaceInstallation.objects.exists()


def test_install_twice_is_a_conflict_and_after_uninstall_allowed(listing, admin_clinic):
    clinic, admin = admin_clinic
    browser = signed_in(admin)
    installation_id = _install(browser, listing, clinic).json()["installation"]["id"]
    response = _install(browser, listing, clinic)
    assert response.status_code == 409
    assert response.json()["code"] == "already_installed"
    assert browser.delete(f"{INSTALLS}/{installation_id}").status_code == 200
    response = browser.delete(f"{INSTALLS}/{installation_id}")
    assert response.status_code == 409
    assert _install(browser, listing, clinic).status_code == 201
    listing.refresh_from_db()
    assert (listing.install_count, listing.active_install_count) == (2, 1)


def test_an_app_without_the_code_grant_cannot_be_installed(listing, admin_clinic):
    clinic, admin = admin_clinic
    oauth_app = listing.application.oauth_client.application
    oauth_app.authorization_grant_type = "client-credentials"
    oauth_app.save()
    response = _install(signed_in(admin), listing, clinic)
    assert response.status_code == 409
    assert response.json()["code"] == "not_installable"


def test_installations_are_scoped_to_the_users_clinics(listing, admin_clinic):
    clinic, admin = admin_clinic
    other_clinic, other_admin = clinic_with_admin()
    mine = _install(signed_in(admin), listing, clinic).json()["installation"]["id"]
    theirs = _install(signed_in(other_admin), listing, other_clinic).json()["installation"]["id"]
    browser = signed_in(admin)
    listed = browser.get(INSTALLS).json()["results"]
    assert [item["id"] for item in listed] == [mine]
    assert browser.get(f"{INSTALLS}/{mine}").status_code == 200
    assert browser.get(f"{INSTALLS}/{theirs}").status_code == 404
    assert browser.delete(f"{INSTALLS}/{theirs}").status_code == 404
    assert MarketplaceInstallation.objects.get(public_id=theirs).status == "active"


def test_review_without_the_app_installed_is_403(listing, admin_clinic):
    clinic, admin = admin_clinic
    response = _review(signed_in(admin), listing, clinic)
    assert response.status_code == 403
    assert response.json()["code"] == "not_installed"
    assert not MarketplaceReview.objects.exists()


def test_review_is_one_per_clinic_editable_with_history(listing, admin_clinic, api_client):
    clinic, admin = admin_clinic
    browser = signed_in(admin)
    _install(browser, listing, clinic)
    first = _review(browser, listing, clinic, rating=5, body="Great")
    assert first.status_code == 201
    second = _review(browser, listing, clinic, rating=2, body="Broke after an update")
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    review = MarketplaceReview.objects.get()
    assert (review.rating, review.body) == (2, "Broke after an update")
    [old] = MarketplaceReviewRevision.objects.filter(review=review)
    assert (old.rating, old.body) == (5, "Great")
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_average) == (1, 2.0)
    # A second clinic.
    other_clinic, other_admin = clinic_with_admin()
    _install(signed_in(other_admin), listing, other_clinic)
    _review(signed_in(other_admin), listing, other_clinic, rating=5)
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_sum, listing.rating_average) == (2, 7, 3.5)
    public = api_client.get(f"/api/v1/marketplace/listings/{listing.public_id}/reviews").json()
    assert len(public["results"]) == 2


@pytest.mark.parametrize("rating", [0, 6, "5", 2.5, None])
def test_bad_ratings_are_400(listing, admin_clinic, rating):
    clinic, admin = admin_clinic
    browser = signed_in(admin)
    _install(browser, listing, clinic)
    response = _review(browser, listing, clinic, rating=rating)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_after_uninstall_the_clinic_cannot_review(listing, admin_clinic):
    clinic, admin = admin_clinic
    browser = signed_in(admin)
    installation_id = _install(browser, listing, clinic).json()["installation"]["id"]
    browser.delete(f"{INSTALLS}/{installation_id}")
    assert _review(browser, listing, clinic).status_code == 403


def _reviewed(listing, rating=4):
    clinic, admin = clinic_with_admin()
    _install(signed_in(admin), listing, clinic)
    return MarketplaceReview.objects.get(
        public_id=_review(signed_in(admin), listing, clinic, rating=rating).json()["id"]
    )


def test_partner_replies_once_and_not_to_others(partner_api_client):
    partner = PartnerFactory()
    client = partner_api_client(partner=partner, scopes=["manage:marketplace"])
    review = _reviewed(published_listing(partner=partner))
    url = f"/api/v1/marketplace/partner/reviews/{review.public_id}/reply"
    response = client.post(url, {"body": "Thanks!"}, format="json")
    assert response.status_code == 200
    assert response.json()["reply"]["body"] == "Thanks!"
    response = client.post(url, {"body": "Again"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "already_replied"
    assert client.post(url, {"body": " "}, format="json").status_code in (400, 409)
    foreign = _reviewed(published_listing())
    response = client.post(
        f"/api/v1/marketplace/partner/reviews/{foreign.public_id}/reply",
        {"body": "Mine?"},
        format="json",
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.replied_at is None


def test_staff_hide_a_review_with_a_reason(api_client, client):
    listing = published_listing()
    kept = _reviewed(listing, rating=5)
    hidden = _reviewed(listing, rating=1)
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_average) == (2, 3.0)
    client.force_login(User.objects.create_superuser(username="root", password="pw"))
    client.post(
        "/admin/partners/marketplacereview/",
        {"action": "hide", "_selected_action": [hidden.pk], "reason": "Abusive"},
    )
    hidden.refresh_from_db()
    assert hidden.hidden_reason == "Abusive"
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_average) == (1, 5.0)
    public = api_client.get(f"/api/v1/marketplace/listings/{listing.public_id}/reviews").json()
    assert [item["id"] for item in public["results"]] == [kept.public_id]
    review_services.review_unhide(review=hidden, actor=ACTOR)
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_average) == (2, 3.0)
    with pytest.raises(Exception, match="reason"):
        review_services.review_hide(review=hidden, reason="", actor=ACTOR)


def test_listing_detail_queries_do_not_grow_with_reviews(api_client):
    listing = published_listing()
    for _ in range(3):
        _reviewed(listing)
    url = f"/api/v1/marketplace/listings/{listing.public_id}"
    api_client.get(url)  # today's figures row exists from now on
    with CaptureQueriesContext(connection) as few:
        api_client.get(url)
    for _ in range(3):
        _reviewed(listing)
    with CaptureQueriesContext(connection) as more:
        assert api_client.get(url).json()["ratingCount"] == 6
    assert len(more.captured_queries) == len(few.captured_queries) <= 6
