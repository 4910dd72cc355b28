"""Listings through the partner API and the staff console: create from a published application,
edit, submit, staff approval, moderation, and a published listing's edits held for review."""

import pytest

from careos.errors import ConflictError
from partners.models import (
    ListingStatus,
    MarketplaceListing,
    MarketplaceListingRevision,
    PartnerApplication,
)
from partners.services.marketplace import listings as services
from rbac.models import AuditEvent, User
from tests.partners.factories import PartnerFactory
from tests.partners.marketplace_helpers import (
    ACTOR,
    draft_listing,
    published_application,
    published_listing,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/marketplace/partner/listings"


@pytest.fixture
def mkt_client(partner_api_client):
    return partner_api_client(partner=PartnerFactory(), scopes=["manage:marketplace"])


def _create(client, application, **fields):
    body = {
        "applicationId": application.public_id,
        "name": "Acme Scheduling",
        "tagline": "Calendar sync",
        "description": "Hello <script>alert(1)</script> [docs](https://acme.example.com)",
        "categories": ["scheduling", "crm"],
        "pricingModel": "freemium",
        "supportUrl": "https://acme.example.com/support",
    } | fields
    return client.post(BASE, body, format="json")


def test_partner_creates_a_draft_from_a_published_application(mkt_client):
    application, _ = published_application(partner=mkt_client.partner)
    response = _create(mkt_client, application)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["categories"] == ["crm", "scheduling"]
    assert body["scopes"] == ["read:leads", "read:partner"]  # the client's, by default
    assert "<script>" not in body["descriptionHtml"]
    assert 'rel="nofollow noopener"' in body["descriptionHtml"]
    assert body["pendingRevision"] is None
    listing = MarketplaceListing.objects.get(public_id=body["id"])
    assert listing.partner == mkt_client.partner
    assert "Calendar sync" in listing.search_document
    assert AuditEvent.objects.filter(action="partner.marketplace.listing_created").exists()


def test_application_must_be_published_and_ones_own(mkt_client):
    application, _ = published_application()  # another partner's
    assert _create(mkt_client, application).status_code == 404
    mine, _ = published_application(partner=mkt_client.partner)
    PartnerApplication.objects.filter(pk=mine.pk).update(status="approved")
    response = _create(mkt_client, mine)
    assert response.status_code == 409
    assert response.json()["code"] == "application_not_published"
    assert not MarketplaceListing.objects.exists()


def test_scopes_beyond_the_application_and_unknown_categories_are_refused(mkt_client):
    application, _ = published_application(partner=mkt_client.partner)
    response = _create(mkt_client, application, scopes=["write:leads"])
    assert response.status_code == 400
    assert response.json()["code"] == "listing_invalid"
    response = _create(mkt_client, application, categories=["nope"])
    assert response.status_code == 400
    assert response.json()["code"] == "listing_invalid"
    response = _create(mkt_client, application, pricingModel="gratis")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert not MarketplaceListing.objects.exists()


def test_a_second_listing_of_the_same_application_is_refused(mkt_client):
    application, _ = published_application(partner=mkt_client.partner)
    assert _create(mkt_client, application).status_code == 201
    response = _create(mkt_client, application)
    assert response.status_code == 409
    assert response.json()["code"] == "already_listed"


def test_another_partners_listing_is_404_for_every_operation(mkt_client):
    listing = draft_listing()
    url = f"{BASE}/{listing.public_id}"
    assert mkt_client.get(url).status_code == 404
    assert mkt_client.patch(url, {"name": "Mine now"}, format="json").status_code == 404
    assert mkt_client.post(f"{url}/submit").status_code == 404
    assert mkt_client.get(f"{url}/analytics").status_code == 404
    assert mkt_client.delete(f"{url}/media/med_x").status_code == 404
    listing.refresh_from_db()
    assert listing.name == "Acme Scheduling"


def test_the_scope_is_required(partner_api_client):
    client = partner_api_client(scopes=["read:partner"])
    response = client.get(BASE)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_submit_checks_completeness_then_staff_approve(mkt_client):
    listing = draft_listing(partner=mkt_client.partner, tagline="", categories=[])
    url = f"{BASE}/{listing.public_id}"
    response = mkt_client.post(f"{url}/submit")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"tagline", "categories"}
    mkt_client.patch(url, {"tagline": "Sync", "categories": ["scheduling"]}, format="json")
    response = mkt_client.post(f"{url}/submit")
    assert response.status_code == 200
    assert response.json()["status"] == "in_review"
    # In review: no change.
    response = mkt_client.patch(url, {"name": "Changed"}, format="json")
    assert response.status_code == 409
    services.listing_approve(listing=listing, actor=ACTOR)
    listing.refresh_from_db()
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.published_at is not None


def test_a_published_listings_edits_wait_for_review(mkt_client, api_client):
    listing = published_listing(partner=mkt_client.partner)
    url = f"{BASE}/{listing.public_id}"
    response = mkt_client.patch(
        url, {"tagline": "Brand new tagline", "description": "New **text**"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["tagline"] == "Two-way calendar sync for clinics"  # unchanged until approved
    assert body["pendingRevision"]["changes"] == {
        "tagline": "Brand new tagline",
        "description": "New **text**",
    }
    public = api_client.get(f"/api/v1/marketplace/listings/{listing.public_id}").json()
    assert public["tagline"] == "Two-way calendar sync for clinics"
    # A second edit joins the same pending revision.
    mkt_client.patch(url, {"name": "Acme Sync"}, format="json")
    revision = MarketplaceListingRevision.objects.get(listing=listing)
    assert set(revision.changes) == {"tagline", "description", "name"}

    services.revision_approve(revision=revision, actor=ACTOR)
    public = api_client.get(f"/api/v1/marketplace/listings/{listing.public_id}").json()
    assert public["tagline"] == "Brand new tagline"
    assert public["name"] == "Acme Sync"
    assert public["descriptionHtml"] == "<p>New <strong>text</strong></p>\n"
    assert mkt_client.get(url).json()["pendingRevision"] is None


def test_rejected_revision_leaves_the_listing_as_it_was(mkt_client):
    listing = published_listing(partner=mkt_client.partner)
    services.listing_update(listing=listing, actor=ACTOR, name="Other")
    revision = MarketplaceListingRevision.objects.get(listing=listing)
    with pytest.raises(Exception, match="reason"):
        services.revision_reject(revision=revision, reason=" ", actor=ACTOR)
    services.revision_reject(revision=revision, reason="Misleading name", actor=ACTOR)
    listing.refresh_from_db()
    assert listing.name == "Acme Scheduling"
    revision.refresh_from_db()
    assert (revision.status, revision.review_notes) == ("rejected", "Misleading name")


def test_moderation_transitions():
    listing = published_listing()
    listing = services.listing_suspend(listing=listing, reason="Broken", actor=ACTOR)
    assert listing.status == ListingStatus.SUSPENDED
    with pytest.raises(ConflictError):
        services.listing_approve(listing=listing, actor=ACTOR)
    listing = services.listing_reinstate(listing=listing, actor=ACTOR)
    assert listing.status == ListingStatus.PUBLISHED
    listing = services.listing_feature(listing=listing, position=1, actor=ACTOR)
    listing = services.listing_delist(listing=listing, reason="Gone", actor=ACTOR)
    assert (listing.status, listing.featured_position) == (ListingStatus.DELISTED, None)
    with pytest.raises(ConflictError):
        services.listing_reinstate(listing=listing, actor=ACTOR)
    with pytest.raises(ConflictError):
        services.listing_update(listing=listing, actor=ACTOR, name="x")


def test_staff_approve_suspend_and_feature_in_the_console(client):
    staff = User.objects.create_superuser(username="root", password="pw")
    client.force_login(staff)
    in_review = services.listing_submit(listing=draft_listing(), actor=ACTOR)
    changelist = "/admin/partners/marketplacelisting/"
    response = client.post(
        changelist, {"action": "approve", "_selected_action": [in_review.pk], "reason": ""}
    )
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == ListingStatus.PUBLISHED
    client.post(
        changelist,
        {"action": "feature", "_selected_action": [in_review.pk], "position": "2", "reason": ""},
    )
    in_review.refresh_from_db()
    assert in_review.featured_position == 2
    # Suspending needs a reason.
    client.post(changelist, {"action": "suspend", "_selected_action": [in_review.pk]})
    in_review.refresh_from_db()
    assert in_review.status == ListingStatus.PUBLISHED
    client.post(
        changelist, {"action": "suspend", "_selected_action": [in_review.pk], "reason": "Broken"}
    )
    in_review.refresh_from_db()
    assert (in_review.status, in_review.status_reason) == ("suspended", "Broken")
    assert client.get(changelist).status_code == 200
    assert client.get(f"{changelist}{in_review.pk}/change/").status_code == 200


def test_console_approves_pending_changes(client):
    staff = User.objects.create_superuser(username="root", password="pw")
    client.force_login(staff)
    listing = published_listing()
    services.listing_update(listing=listing, actor=ACTOR, tagline="Fresh")
    client.post(
        "/admin/partners/marketplacelisting/",
        {"action": "approve_revision", "_selected_action": [listing.pk]},
    )
    listing.refresh_from_db()
    assert listing.tagline == "Fresh"
