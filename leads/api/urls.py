from django.urls import path

from leads.api import views

urlpatterns = [
    path("leads", views.LeadListView.as_view(), name="lead-list"),
    path("leads/ingest", views.LeadIngestView.as_view(), name="lead-ingest"),
    path("leads/encryption-keys", views.EncryptionKeysView.as_view(), name="lead-encryption-keys"),
    path(
        "leads/consent-language", views.ConsentLanguageView.as_view(), name="lead-consent-language"
    ),
    path("leads/<str:lead_id>", views.LeadDetailView.as_view(), name="lead-detail"),
]
