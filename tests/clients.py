"""Test clients that sign in the way the sign-in pages do: password *and* second factor.

The platform asks accounts that can see PHI for a TOTP code after the password
(rbac/accounts). ``SignedInClient.force_login(user)`` therefore also gives the user a confirmed
TOTP device and marks this session verified with it, as the second sign-in step would; the
``client``, ``admin_client`` and ``api_client`` fixtures (tests/conftest.py) are these clients.
Tests of the second step itself use Django's plain ``Client``, which stops at the password.

``login(username=..., password=...)`` goes through django-axes, which needs the request an
authentication comes from: a blank one stands in for it, as Django's own client gives none.
"""

from typing import Any

from django.http import HttpRequest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

TEST_DEVICE_NAME = "test authenticator"


def verify_second_factor(client: Client, user: Any) -> None:
    """Mark ``client``'s session verified with a confirmed TOTP device of ``user``."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TEST_DEVICE_NAME, confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


class _BothFactors:
    def force_login(self, user: Any, backend: str | None = None) -> None:
        super().force_login(user, backend)  # type: ignore[misc]
        verify_second_factor(self, user)  # type: ignore[arg-type]

    def login(self, **credentials: Any) -> bool:
        credentials.setdefault("request", HttpRequest())
        if not super().login(**credentials):  # type: ignore[misc]
            return False
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        username = credentials.get(user_model.USERNAME_FIELD)
        verify_second_factor(self, user_model._default_manager.get_by_natural_key(username))  # type: ignore[arg-type]
        return True


class SignedInClient(_BothFactors, Client):
    """Django's test client; ``force_login``/``login`` complete both sign-in factors."""


class SignedInAPIClient(_BothFactors, APIClient):
    """DRF's test client; ``force_login``/``login`` complete both sign-in factors."""
