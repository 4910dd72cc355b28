"""Helpers for the marketplace tests: a published application, listings at each status through
the services, a clinic with its admin, and images made with Pillow."""

import io

from django.test import Client
from PIL import Image

from careos.actors import system_actor
from partners.models import MarketplaceListing, Partner, PartnerApplication
from partners.services import applications as apps
from partners.services.marketplace import listings as services
from rbac import services as rbac_services
from rbac.models import Clinic, Role, User
from tests.clients import SignedInClient
from tests.partners.factories import PartnerFactory
from tests.partners.oauth_flows import approved_client

ACTOR = system_actor("tests")
SCOPES = ("read:partner", "read:leads")


def published_application(
    *, partner: Partner | None = None, client_type: str = "confidential"
) -> tuple[PartnerApplication, apps.ApprovedApplication]:
    approved = approved_client(
        partner=partner or PartnerFactory(), client_type=client_type, scopes=SCOPES
    )
    application = apps.application_publish(application=approved.application, actor=ACTOR)
    return application, approved


def draft_listing(
    *, partner: Partner | None = None, name: str = "Acme Scheduling", **fields: object
) -> MarketplaceListing:
    application, _ = published_application(partner=partner)
    values = {
        "tagline": "Two-way calendar sync for clinics",
        "description": "Sync appointments **both ways**.",
        "categories": ["scheduling"],
        "pricing_model": "subscription",
    } | fields
    return services.listing_create(
        partner=application.partner, application=application, name=name, actor=ACTOR, **values
    )


def published_listing(**kwargs: object) -> MarketplaceListing:
    listing = services.listing_submit(listing=draft_listing(**kwargs), actor=ACTOR)
    return services.listing_approve(listing=listing, actor=ACTOR)


_clinics = iter(range(1, 100_000))


def clinic_with_admin(*, role_slug: str = "clinic_admin") -> tuple[Clinic, User]:
    n = next(_clinics)
    clinic = rbac_services.clinic_create(
        name=f"Clinic {n}",
        slug=f"clinic-{n}",
        timezone="America/New_York",
        languages=["en"],
        regions=["NY"],
        actor=ACTOR,
    )
    user = User.objects.create_user(username=f"{role_slug}{n}", password=None, kind="staff")
    rbac_services.membership_grant(
        user=user, clinic=clinic, role=Role.objects.get(clinic=clinic, slug=role_slug), actor=ACTOR
    )
    return clinic, user


def signed_in(user: User) -> Client:
    """Both sign-in factors (tests/clients.py): a clinic admin can see PHI."""
    client = SignedInClient()
    client.force_login(user)
    return client


def image_bytes(width: int = 128, height: int = 128, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()
