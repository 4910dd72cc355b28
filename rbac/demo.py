"""Demo data of rbac (``manage.py seed_demo``): idempotent, prints what it created or found."""

from base64 import b32encode
from typing import TextIO

from django_otp.plugins.otp_totp.models import TOTPDevice

from careos.actors import system_actor
from careos.demo import record_demo_credentials
from rbac import services
from rbac.models import Clinic, Membership, Role, User
from rbac.roles import SPECIALIST, SUPPORT_AGENT

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "careos-demo"  # noqa: S105 - the documented demo login, development only
CLINIC_SLUG = "careos-demo-clinic"
CLINIC_NAME = "CareOS Demo Clinic"

_STAFF = [
    ("demo.specialist", User.Kind.SPECIALIST, SPECIALIST, "Dana", "Rivera"),
    ("demo.agent", User.Kind.STAFF, SUPPORT_AGENT, "Sam", "Lee"),
]


def _line(stdout: TextIO, created: bool, what: str) -> None:
    stdout.write(f"  {'created' if created else 'exists '}: {what}\n")


def seed(*, stdout: TextIO) -> None:
    actor = system_actor("seed_demo")
    services.role_templates_sync(actor=actor)

    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    created = admin is None
    if admin is None:
        admin = services.user_create(
            kind=User.Kind.STAFF, username=ADMIN_USERNAME, password=ADMIN_PASSWORD, actor=actor
        )
    if not (admin.is_superuser and admin.is_staff and admin.is_active) or not (
        admin.check_password(ADMIN_PASSWORD)
    ):
        admin.is_superuser = admin.is_staff = admin.is_active = True
        admin.set_password(ADMIN_PASSWORD)
        admin.save(update_fields=["is_superuser", "is_staff", "is_active", "password"])
    _line(stdout, created, f"superuser {ADMIN_USERNAME} / password {ADMIN_PASSWORD}")
    totp_secret = _admin_totp_secret(admin, stdout=stdout)

    clinic = Clinic.objects.filter(slug=CLINIC_SLUG).first()
    created = clinic is None
    if clinic is None:
        clinic = services.clinic_create(
            name=CLINIC_NAME,
            slug=CLINIC_SLUG,
            timezone="America/New_York",
            languages=["en", "es"],
            regions=["NY", "NJ"],
            actor=actor,
        )
    _line(
        stdout,
        created,
        f"clinic {clinic.name} ({clinic.public_id}) with {clinic.roles.count()} roles",
    )

    for username, kind, role_slug, first_name, last_name in _STAFF:
        user = User.objects.filter(username=username).first()
        created = user is None
        if user is None:
            user = services.user_create(
                kind=kind,
                username=username,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.com",
                region="NY",
                timezone="America/New_York",
                actor=actor,
            )
        role = Role.objects.get(clinic=clinic, slug=role_slug)
        if not Membership.objects.filter(
            user=user, clinic=clinic, role=role, is_active=True
        ).exists():
            services.membership_grant(user=user, clinic=clinic, role=role, actor=actor)
            created = True
        _line(stdout, created, f"{role.name.lower()} {username} in {clinic.name}")

    record_demo_credentials(
        adminUsername=ADMIN_USERNAME, adminPassword=ADMIN_PASSWORD, adminTotpSecret=totp_secret
    )


def _admin_totp_secret(admin: User, *, stdout: TextIO) -> str:
    """The demo superuser can see PHI, so signing in asks for a TOTP code: they get a confirmed
    authenticator device (a random key, kept across seeds), whose base32 secret is recorded for
    ``make run``'s banner (``scripts/demo_totp.py`` prints the current code) and CI's login."""
    device = TOTPDevice.objects.filter(user=admin, confirmed=True).order_by("pk").first()
    created = device is None
    if device is None:
        device = TOTPDevice.objects.create(user=admin, name="Demo authenticator", confirmed=True)
    _line(stdout, created, f"authenticator (TOTP) device of {ADMIN_USERNAME}")
    return b32encode(device.bin_key).decode("ascii")
