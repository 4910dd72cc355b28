"""Who needs a second factor, and the services that enrol and check it (django-otp devices).

A user needs one when they can see PHI: a superuser, or a member of a clinic whose role holds
``rbac.view_phi``. Their sign-in is complete only when the session is verified with a
confirmed TOTP device or one of their single-use recovery codes (an ``otp_static`` device).
"""

from base64 import b32encode
from dataclasses import dataclass

import django_otp
import segno
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from careos.actors import Actor
from rbac.models import User
from rbac.selectors import user_can
from rbac.services import audit_record

PHI_PERMISSION = "rbac.view_phi"
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def user_requires_mfa(user: User | AnonymousUser | None) -> bool:
    """Whether ``user``'s sign-in needs the second factor (they can see PHI somewhere)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user_can(user, PHI_PERMISSION))


def totp_device_confirmed(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps take it when typed in
    config_url: str  # otpauth:// URI, the QR code's content

    def qr_svg(self) -> str:
        """The QR code as inline SVG (no image request, nothing sent elsewhere)."""
        return segno.make(self.config_url, error="m").svg_inline(scale=5, border=2)


def totp_enrolment_start(*, user: User) -> Enrolment:
    """The user's pending (unconfirmed) TOTP device, created on first call; the same secret is
    shown again until it is confirmed, so reloading the page does not invalidate a scanned code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    secret = b32encode(device.bin_key).decode("ascii")
    return Enrolment(device=device, secret=secret, config_url=device.config_url)


def totp_enrolment_confirm(
    *, request: HttpRequest, user: User, device: TOTPDevice, token: str, actor: Actor | User
) -> list[str] | None:
    """Confirm ``device`` with a code from the app: the session is verified with it, a fresh
    set of recovery codes is made (returned, to be shown once) and the enrolment audited.
    ``None`` when the code is wrong (nothing changes but django-otp's throttling)."""
    if device.user_id != user.pk or device.confirmed:
        return None
    verified = django_otp.verify_token(user, device.persistent_id, token.strip())
    if verified is None:
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(user=user)
        audit_record(
            actor=actor,
            action="account.mfa_enrolled",
            target_type="user",
            target_ref=user.public_id,
            request=request,
        )
    django_otp.login(request, device)
    return codes


def recovery_codes_regenerate(
    *, request: HttpRequest, user: User, actor: Actor | User
) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    with transaction.atomic():
        codes = _recovery_codes_replace(user=user)
        audit_record(
            actor=actor,
            action="account.recovery_codes_regenerated",
            target_type="user",
            target_ref=user.public_id,
            request=request,
        )
    return codes


def _recovery_codes_replace(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.ACCOUNTS_RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_verify(*, request: HttpRequest, user: User, token: str) -> bool:
    """Check a TOTP code (6 digits) or a recovery code against the user's confirmed devices, each
    through django-otp (its throttling and single use apply); on success the session is
    verified."""
    token = token.strip().replace(" ", "")
    if token.isdigit():
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        token = token.lower()
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    for device in devices:
        verified = django_otp.verify_token(user, device.persistent_id, token)
        if verified is not None:
            django_otp.login(request, verified)
            return True
    return False
