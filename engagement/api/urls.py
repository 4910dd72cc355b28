from django.urls import path

from engagement.api import patient, staff, webhooks

urlpatterns: list = [
    # Provider webhooks and the unsubscribe page
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
    # Staff
    path("engagement/templates", staff.TemplateListView.as_view()),
    path("engagement/templates/<str:public_id>", staff.TemplateDetailView.as_view()),
    path("engagement/templates/<str:public_id>/preview", staff.TemplatePreviewView.as_view()),
    path("engagement/reminders", staff.ReminderListView.as_view()),
    path("engagement/reminders/<str:public_id>/cancel", staff.ReminderCancelView.as_view()),
    path("engagement/tasks", staff.StaffTaskCreateView.as_view()),
    path("engagement/campaigns", staff.CampaignListView.as_view()),
    path("engagement/campaigns/<str:public_id>", staff.CampaignDetailView.as_view()),
    path("engagement/campaigns/<str:public_id>/launch", staff.CampaignLaunchView.as_view()),
    path("engagement/campaigns/<str:public_id>/cancel", staff.CampaignCancelView.as_view()),
    path("engagement/campaigns/<str:public_id>/analytics", staff.CampaignAnalyticsView.as_view()),
    path("engagement/clinics/<str:clinic_id>/stats", staff.ClinicEngagementView.as_view()),
    path("engagement/messages", staff.MessageLogView.as_view()),
    # The signed-in patient
    path("me/tasks", patient.MyTasksView.as_view()),
    path("me/tasks/<str:public_id>/complete", patient.MyTaskCompleteView.as_view()),
    path("me/reminders", patient.MyRemindersView.as_view()),
    path("me/push-subscriptions", patient.MyPushSubscriptionsView.as_view()),
    path("me/push-subscriptions/<str:public_id>", patient.MyPushSubscriptionView.as_view()),
    path("me/messaging-preferences", patient.MyMessagingPreferencesView.as_view()),
    path("me/opt-outs", patient.MyOptOutsView.as_view()),
]
