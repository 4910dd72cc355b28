from django.urls import path

from support.api import views, views_csat

urlpatterns = [
    path("support/tickets", views.TicketListCreateView.as_view(), name="support-tickets"),
    path("support/tickets/queue", views.AgentTicketListView.as_view(), name="support-queue"),
    path("support/tickets/<str:id>", views.TicketDetailView.as_view(), name="support-ticket"),
    path(
        "support/tickets/<str:id>/comments",
        views.TicketCommentsView.as_view(),
        name="support-ticket-comments",
    ),
    path(
        "support/tickets/<str:id>/escalate",
        views.TicketEscalateView.as_view(),
        name="support-ticket-escalate",
    ),
    path(
        "support/tickets/<str:id>/rating",
        views.TicketRatingView.as_view(),
        name="support-ticket-rating",
    ),
    path(
        "support/tickets/<str:id>/assign",
        views.TicketAssignView.as_view(),
        name="support-ticket-assign",
    ),
    path(
        "support/tickets/<str:id>/status",
        views.TicketStatusView.as_view(),
        name="support-ticket-status",
    ),
    path(
        "support/tickets/<str:id>/priority",
        views.TicketPriorityView.as_view(),
        name="support-ticket-priority",
    ),
    path("support/queues", views.QueueListView.as_view(), name="support-queues"),
    path("support/agents", views_csat.PublishedAgentsView.as_view(), name="support-agents"),
    path("support/csat", views_csat.CsatSurveyView.as_view(), name="support-csat"),
    path("support/csat/report", views_csat.CsatReportView.as_view(), name="support-csat-report"),
]
