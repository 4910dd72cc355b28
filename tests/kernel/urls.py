from django.urls import include, path

from tests.kernel import views

handler400 = "careos.api.exceptions.handler400"
handler404 = "careos.api.exceptions.handler404"
handler500 = "careos.api.exceptions.handler500"

urlpatterns = [
    path("api/test/clinics", views.ClinicCreateView.as_view()),
    path("api/test/gated", views.GatedCreateView.as_view()),
    path("api/test/tenant-clinics", views.TenantClinicCreateView.as_view()),
    path("api/test/clinics/<str:public_id>", views.ClinicDetailView.as_view()),
    path("api/test/profile", views.ProfileView.as_view()),
    path("api/test/conflict", views.ConflictView.as_view()),
    path("api/test/broken", views.BrokenView.as_view()),
    path("api/test/broken-django", views.broken_django_view),
    path("api/test/throttled", views.ThrottledView.as_view()),
    path("api/test/private", views.PrivateView.as_view()),
    path("api/test/unbounded-status", views.UnboundedStatusView.as_view()),
    path("api/test/clinic-list", views.ClinicListView.as_view()),
    path("api/test/strict", views.StrictInputView.as_view()),
    path("api/test/strict-clinic", views.StrictClinicView.as_view()),
    path("", include("careos.urls")),
]
