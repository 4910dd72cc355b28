from partners.models.applications import PartnerApplication
from partners.models.credentials import ApiKey, PartnerOAuthClient, RedeemedAuthorizationCode
from partners.models.events import EventType, PlatformEvent
from partners.models.marketplace import (
    ListingStatus,
    MarketplaceCategory,
    MarketplaceInstallation,
    MarketplaceListing,
    MarketplaceListingDay,
    MarketplaceListingMedia,
    MarketplaceListingRevision,
    MarketplaceReview,
    MarketplaceReviewRevision,
    PricingModel,
)
from partners.models.partner import Partner
from partners.models.profile import PartnerAgreement, PartnerContact
from partners.models.usage import PartnerUsageDaily
from partners.models.webhooks import WebhookAttempt, WebhookEndpoint, WebhookMessage

__all__ = [
    "ApiKey",
    "EventType",
    "ListingStatus",
    "MarketplaceCategory",
    "MarketplaceInstallation",
    "MarketplaceListing",
    "MarketplaceListingDay",
    "MarketplaceListingMedia",
    "MarketplaceListingRevision",
    "MarketplaceReview",
    "MarketplaceReviewRevision",
    "Partner",
    "PartnerAgreement",
    "PartnerApplication",
    "PartnerContact",
    "PartnerOAuthClient",
    "PartnerUsageDaily",
    "PlatformEvent",
    "PricingModel",
    "RedeemedAuthorizationCode",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]
