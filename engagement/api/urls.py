from django.urls import path

from engagement.api import webhooks

urlpatterns: list = [
    path(
        "engagement/twilio/status",
        webhooks.TwilioStatusCallbackView.as_view(),
        name="engagement-twilio-status",
    ),
    path(
        "engagement/twilio/inbound",
        webhooks.TwilioInboundView.as_view(),
        name="engagement-twilio-inbound",
    ),
    path(
        "engagement/unsubscribe/<str:token>",
        webhooks.UnsubscribeView.as_view(),
        name="engagement-unsubscribe",
    ),
]
