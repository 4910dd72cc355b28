"""Demo data of the marketplace (``seed_demo``, from ``partners.demo``): the demo partner's
published application and its published, featured listing, so discovery has something to show
(and CI's schemathesis run has a listing to read)."""

from typing import TextIO

from careos.actors import Actor
from partners.models import ListingStatus, MarketplaceListing, Partner, PartnerApplication
from partners.services import applications as app_services
from partners.services.marketplace import listings as services

APP_NAME = "Demo Scheduler"
DESCRIPTION = """Keeps the clinic's calendar and the demo partner's booking site in sync.

- Two-way sync of **appointments**
- Reminders in the patient's language
- [Documentation](https://docs.careos.dev/)
"""


def _published_application(*, partner: Partner, actor: Actor) -> PartnerApplication:
    application = PartnerApplication.objects.filter(partner=partner, name=APP_NAME).first()
    if application is None:
        application = app_services.application_create(
            partner=partner,
            name=APP_NAME,
            actor=actor,
            description="Calendar sync (seed_demo).",
            redirect_uris=["https://demo-scheduler.example.com/oauth/callback"],
            requested_scopes=["read:partner", "read:leads"],
        )
    Status = PartnerApplication.Status
    if application.status == Status.DRAFT:
        application = app_services.application_submit(application=application, actor=actor)
    if application.status == Status.SUBMITTED:
        application = app_services.application_start_review(application=application, actor=actor)
    if application.status == Status.IN_REVIEW:
        application = app_services.application_approve(
            application=application, actor=actor
        ).application
    if application.status == Status.APPROVED:
        application = app_services.application_publish(application=application, actor=actor)
    return application


def seed(*, partner: Partner, actor: Actor, stdout: TextIO) -> None:
    listing = (
        MarketplaceListing.objects.filter(partner=partner)
        .exclude(status=ListingStatus.DELISTED)
        .first()
    )
    if listing is None:
        application = _published_application(partner=partner, actor=actor)
        listing = services.listing_create(
            partner=partner,
            application=application,
            name=APP_NAME,
            actor=actor,
            tagline="Two-way calendar sync for clinics",
            description=DESCRIPTION,
            categories=["scheduling", "communication"],
            pricing_model="freemium",
            pricing_summary="Free for one practitioner; $29 per month per clinic after.",
            support_url="https://docs.careos.dev/support",
            privacy_policy_url="https://docs.careos.dev/privacy",
        )
    if listing.status == ListingStatus.DRAFT:
        listing = services.listing_submit(listing=listing, actor=actor)
    if listing.status == ListingStatus.IN_REVIEW:
        listing = services.listing_approve(listing=listing, actor=actor)
    if listing.status == ListingStatus.PUBLISHED and listing.featured_position is None:
        listing = services.listing_feature(listing=listing, position=1, actor=actor)
    stdout.write(
        f"partners: marketplace listing '{listing.name}' ({listing.public_id}) {listing.status}.\n"
    )
