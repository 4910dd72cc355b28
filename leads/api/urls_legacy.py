"""The seed's path for partners integrated before /api/v1 (included at ``/api/``)."""

from django.urls import path

from leads.api import views

urlpatterns = [
    path("leads/ingest", views.LegacyLeadIngestView.as_view(), name="lead-ingest-legacy"),
]
