from django.urls import path

from partners.api.views import (
    applications,
    marketplace_clinic,
    marketplace_partner,
    marketplace_public,
    platform_admin,
    profile,
    self_service,
    webhooks,
)

app_name = "partners"

urlpatterns = [
    path("partners/ping", self_service.PingView.as_view(), name="ping"),
    path("partners/me", self_service.MeView.as_view(), name="me"),
    path("partners/me/usage", self_service.UsageView.as_view(), name="usage"),
    path("partners/me/keys", self_service.ApiKeyListView.as_view(), name="keys"),
    path("partners/me/keys/<str:key_id>", self_service.ApiKeyDetailView.as_view(), name="key"),
    path(
        "partners/me/keys/<str:key_id>/rotate",
        self_service.ApiKeyRotateView.as_view(),
        name="key-rotate",
    ),
    path(
        "partners/me/keys/<str:key_id>/revoke",
        self_service.ApiKeyRevokeView.as_view(),
        name="key-revoke",
    ),
    path("partners/me/contacts", profile.ContactListView.as_view(), name="contacts"),
    path(
        "partners/me/contacts/<str:contact_id>",
        profile.ContactDetailView.as_view(),
        name="contact",
    ),
    path("partners/me/agreements", profile.AgreementListView.as_view(), name="agreements"),
    path(
        "partners/me/agreements/<str:agreement_id>",
        profile.AgreementDetailView.as_view(),
        name="agreement",
    ),
    path(
        "partners/me/applications", applications.ApplicationListView.as_view(), name="applications"
    ),
    path(
        "partners/me/applications/<str:application_id>",
        applications.ApplicationDetailView.as_view(),
        name="application",
    ),
    path(
        "partners/me/applications/<str:application_id>/submit",
        applications.ApplicationSubmitView.as_view(),
        name="application-submit",
    ),
    path(
        "partners/me/oauth-clients",
        applications.OAuthClientListView.as_view(),
        name="oauth-clients",
    ),
    path(
        "partners/me/oauth-clients/<str:client_id>/secret",
        applications.OAuthClientSecretView.as_view(),
        name="oauth-client-secret",
    ),
    path(
        "partners/admin/partners",
        platform_admin.AdminPartnerListView.as_view(),
        name="admin-partners",
    ),
    path(
        "partners/admin/partners/<str:partner_id>",
        platform_admin.AdminPartnerDetailView.as_view(),
        name="admin-partner",
    ),
    path(
        "partners/admin/partners/<str:partner_id>/statistics",
        platform_admin.AdminPartnerStatisticsView.as_view(),
        name="admin-partner-statistics",
    ),
    path(
        "partners/admin/partners/<str:partner_id>/<str:action>",
        platform_admin.AdminPartnerActionView.as_view(),
        name="admin-partner-action",
    ),
    path(
        "partners/admin/applications",
        platform_admin.AdminApplicationListView.as_view(),
        name="admin-applications",
    ),
    path(
        "partners/admin/applications/<str:application_id>/<str:action>",
        platform_admin.AdminApplicationActionView.as_view(),
        name="admin-application-action",
    ),
    path("event-types", webhooks.EventTypeListView.as_view(), name="event-types"),
    path("webhooks/endpoints", webhooks.EndpointListView.as_view(), name="webhook-endpoints"),
    path(
        "webhooks/endpoints/<str:endpoint_id>",
        webhooks.EndpointDetailView.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhooks/endpoints/<str:endpoint_id>/test",
        webhooks.EndpointTestView.as_view(),
        name="webhook-endpoint-test",
    ),
    path(
        "webhooks/endpoints/<str:endpoint_id>/rotate-secret",
        webhooks.EndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhooks/endpoints/<str:endpoint_id>/recover",
        webhooks.EndpointRecoverView.as_view(),
        name="webhook-endpoint-recover",
    ),
    path(
        "webhooks/endpoints/<str:endpoint_id>/replay",
        webhooks.EndpointReplayView.as_view(),
        name="webhook-endpoint-replay",
    ),
    path("webhooks/messages", webhooks.MessageListView.as_view(), name="webhook-messages"),
    path(
        "webhooks/messages/<str:message_id>",
        webhooks.MessageDetailView.as_view(),
        name="webhook-message",
    ),
    path(
        "webhooks/messages/<str:message_id>/attempts",
        webhooks.MessageAttemptListView.as_view(),
        name="webhook-message-attempts",
    ),
    path(
        "webhooks/messages/<str:message_id>/retry",
        webhooks.MessageRetryView.as_view(),
        name="webhook-message-retry",
    ),
    path("webhooks/events", webhooks.EventListView.as_view(), name="webhook-events"),
    path(
        "webhooks/events/<str:event_id>", webhooks.EventDetailView.as_view(), name="webhook-event"
    ),
    # The marketplace (partners/api/views/marketplace_*.py).
    path(
        "marketplace/listings", marketplace_public.ListingSearchView.as_view(), name="mkt-listings"
    ),
    path(
        "marketplace/listings/<str:listing_id>",
        marketplace_public.ListingDetailView.as_view(),
        name="mkt-listing",
    ),
    path(
        "marketplace/listings/<str:listing_id>/reviews",
        marketplace_public.ListingReviewsView.as_view(),
        name="mkt-listing-reviews",
    ),
    path(
        "marketplace/listings/<str:listing_id>/my-review",
        marketplace_clinic.ClinicReviewView.as_view(),
        name="mkt-listing-my-review",
    ),
    path(
        "marketplace/categories",
        marketplace_public.CategoryListView.as_view(),
        name="mkt-categories",
    ),
    path(
        "marketplace/featured", marketplace_public.FeaturedListView.as_view(), name="mkt-featured"
    ),
    path(
        "marketplace/trending", marketplace_public.TrendingListView.as_view(), name="mkt-trending"
    ),
    path(
        "marketplace/installations",
        marketplace_clinic.InstallationListView.as_view(),
        name="mkt-installations",
    ),
    path(
        "marketplace/installations/<str:installation_id>",
        marketplace_clinic.InstallationDetailView.as_view(),
        name="mkt-installation",
    ),
    path(
        "marketplace/partner/listings",
        marketplace_partner.PartnerListingListView.as_view(),
        name="mkt-partner-listings",
    ),
    path(
        "marketplace/partner/listings/<str:listing_id>",
        marketplace_partner.PartnerListingDetailView.as_view(),
        name="mkt-partner-listing",
    ),
    path(
        "marketplace/partner/listings/<str:listing_id>/submit",
        marketplace_partner.PartnerListingSubmitView.as_view(),
        name="mkt-partner-listing-submit",
    ),
    path(
        "marketplace/partner/listings/<str:listing_id>/media",
        marketplace_partner.PartnerListingMediaView.as_view(),
        name="mkt-partner-listing-media",
    ),
    path(
        "marketplace/partner/listings/<str:listing_id>/media/<str:media_id>",
        marketplace_partner.PartnerListingMediaDetailView.as_view(),
        name="mkt-partner-listing-media-item",
    ),
    path(
        "marketplace/partner/listings/<str:listing_id>/analytics",
        marketplace_partner.PartnerListingAnalyticsView.as_view(),
        name="mkt-partner-listing-analytics",
    ),
    path(
        "marketplace/partner/reviews/<str:review_id>/reply",
        marketplace_partner.PartnerReviewReplyView.as_view(),
        name="mkt-partner-review-reply",
    ),
]
