from django.urls import path

from rbac.accounts import views

urlpatterns = [
    path("mfa/", views.mfa_verify, name="mfa-verify"),
    path("mfa/setup/", views.mfa_setup, name="mfa-setup"),
    path("mfa/recovery-codes/", views.recovery_codes, name="mfa-recovery-codes"),
]
