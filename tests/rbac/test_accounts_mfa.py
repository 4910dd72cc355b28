"""The second sign-in step for accounts that can see PHI, and their idle-session limit.

These tests sign in through the real pages with Django's plain ``Client`` (password, then the
code); the rest of the suite uses tests/clients.py, which completes both steps for a test.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from rbac import services
from rbac.models import AuditEvent, User
from scripts.demo_totp import totp_code
from tests.rbac.conftest import role

PASSWORD = "a long test password 7"
ADMIN_INDEX = "/admin/"
VERIFY = "/accounts/mfa/"
SETUP = "/accounts/mfa/setup/"


@pytest.fixture
def frozen_clock():
    """Time stands still (codes and their check agree) until the test moves it."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def phi_staff(make_user, clinic_a, actor) -> User:
    """A clinic-A support agent (the role holds rbac.view_phi) who may open the admin."""
    user = make_user(User.Kind.STAFF, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    services.membership_grant(
        user=user, clinic=clinic_a, role=role(clinic_a, "support_agent"), actor=actor
    )
    return user


@pytest.fixture
def billing_staff(make_user, clinic_a, actor) -> User:
    """Staff whose role sees who the patients are but not their PHI."""
    user = make_user(User.Kind.STAFF, is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    services.membership_grant(
        user=user, clinic=clinic_a, role=role(clinic_a, "billing"), actor=actor
    )
    return user


def password_sign_in(client: Client, user: User, *, path: str = "/admin/login/") -> None:
    response = client.post(
        f"{path}?next={ADMIN_INDEX}",
        {"username": user.username, "password": PASSWORD, "next": ADMIN_INDEX},
    )
    assert response.status_code == 302, response.content


def confirmed_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def secret_of(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


def test_phi_staff_enrol_at_first_sign_in_and_get_recovery_codes(phi_staff, frozen_clock):
    client = Client()
    password_sign_in(client, phi_staff)

    # The password alone does not open the admin: first the second step, which enrols.
    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith(SETUP)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html  # the QR code, inline
    secret = page.context["secret"]
    assert secret in html
    assert not TOTPDevice.objects.get(user=phi_staff).confirmed

    wrong = client.post(SETUP, {"code": "000000", "next": ADMIN_INDEX})
    assert wrong.status_code == 200
    assert "That code is not valid" in wrong.content.decode()
    assert client.get(ADMIN_INDEX).status_code == 302
    # Reloading the page shows the same key (the scanned code stays valid).
    assert client.get(SETUP).context["secret"] == secret

    frozen_clock.shift(2)  # django-otp refuses another try for 1 s after a wrong code
    done = client.post(SETUP, {"code": totp_code(secret), "next": ADMIN_INDEX})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    assert TOTPDevice.objects.get(user=phi_staff).confirmed
    assert StaticToken.objects.filter(device__user=phi_staff).count() == 10
    assert AuditEvent.objects.filter(
        action="account.mfa_enrolled", target_ref=phi_staff.public_id
    ).exists()
    assert client.get(ADMIN_INDEX).status_code == 200


def test_enrolled_staff_verify_with_a_code_each_sign_in(phi_staff, frozen_clock):
    device = confirmed_device(phi_staff)
    client = Client()
    password_sign_in(client, phi_staff)
    assert client.get(ADMIN_INDEX)["Location"].startswith(VERIFY)
    assert client.get(SETUP)["Location"].startswith(VERIFY)  # enrolled: no second device

    refused = client.post(VERIFY, {"code": "123456", "next": ADMIN_INDEX})
    assert refused.status_code == 200 and "not valid" in refused.content.decode()
    frozen_clock.shift(2)  # django-otp refuses another try for 1 s after a wrong code

    code = totp_code(secret_of(device))
    response = client.post(VERIFY, {"code": code, "next": "/admin/rbac/"})
    assert response.status_code == 302 and response["Location"] == "/admin/rbac/"
    assert client.get(ADMIN_INDEX).status_code == 200

    # A code works once: another session cannot reuse it.
    other = Client()
    password_sign_in(other, phi_staff)
    replay = other.post(VERIFY, {"code": code, "next": ADMIN_INDEX})
    assert replay.status_code == 200
    assert other.get(ADMIN_INDEX).status_code == 302


def test_a_recovery_code_signs_in_once(phi_staff):
    confirmed_device(phi_staff)
    client = Client()
    password_sign_in(client, phi_staff)
    # Enrolled by the test: a verified session makes the codes (as the setup page does).
    from rbac.accounts.mfa import recovery_codes_regenerate

    codes = recovery_codes_regenerate(request=None, user=phi_staff, actor=phi_staff)  # type: ignore[arg-type]
    response = client.post(VERIFY, {"code": codes[0].upper(), "next": ADMIN_INDEX})
    assert response.status_code == 302
    assert client.get(ADMIN_INDEX).status_code == 200

    again = Client()
    password_sign_in(again, phi_staff)
    assert again.post(VERIFY, {"code": codes[0], "next": ADMIN_INDEX}).status_code == 200
    assert again.get(ADMIN_INDEX).status_code == 302
    assert StaticToken.objects.filter(device__user=phi_staff).count() == 9


def test_new_recovery_codes_replace_the_old_ones(phi_staff):
    from tests.clients import SignedInClient

    client = SignedInClient()
    client.force_login(phi_staff)
    assert client.get("/accounts/mfa/recovery-codes/").status_code == 200
    first = client.post("/accounts/mfa/recovery-codes/").context["codes"]
    second = client.post("/accounts/mfa/recovery-codes/").context["codes"]
    assert set(first).isdisjoint(second)
    tokens = set(StaticToken.objects.filter(device__user=phi_staff).values_list("token", flat=True))
    assert tokens == set(second)


def test_an_unverified_session_cannot_use_the_api(phi_staff):
    confirmed_device(phi_staff)
    client = Client()
    password_sign_in(client, phi_staff, path="/accounts/login/")
    response = client.get("/api/v1/me/tasks")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "mfa_required"
    # Nor a page beyond the sign-in steps, and the recovery-codes page needs the second step.
    assert client.get("/accounts/mfa/recovery-codes/")["Location"].startswith(VERIFY)


def test_superusers_need_the_second_step_too(django_user_model):
    root = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    password_sign_in(client, root)
    assert client.get(ADMIN_INDEX)["Location"].startswith(VERIFY)


def test_staff_without_phi_and_patients_sign_in_with_the_password_alone(billing_staff, patient_a):
    client = Client()
    password_sign_in(client, billing_staff)
    assert client.get(ADMIN_INDEX).status_code == 200

    patient = Client()
    patient.force_login(patient_a)
    assert patient.get("/api/v1/me/tasks").status_code == 200


def test_phi_sessions_end_after_the_idle_time(phi_staff, settings):
    settings.ACCOUNTS_PHI_SESSION_IDLE_SECONDS = 15 * 60
    from tests.clients import SignedInClient

    client = SignedInClient()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(phi_staff)
        assert client.get(ADMIN_INDEX).status_code == 200
        # Activity keeps the session: 14 minutes apart, three times.
        for _ in range(3):
            clock.shift(timedelta(minutes=14))
            assert client.get(ADMIN_INDEX).status_code == 200
        clock.shift(timedelta(minutes=16))
        response = client.get(ADMIN_INDEX)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_sessions_without_phi_keep_the_usual_lifetime(billing_staff, settings):
    settings.ACCOUNTS_PHI_SESSION_IDLE_SECONDS = 15 * 60
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(billing_staff)
        clock.shift(timedelta(hours=2))
        assert client.get(ADMIN_INDEX).status_code == 200


def test_next_must_stay_on_this_site(phi_staff):
    device = confirmed_device(phi_staff)
    client = Client()
    password_sign_in(client, phi_staff)
    response = client.post(
        VERIFY, {"code": totp_code(secret_of(device)), "next": "https://evil.example/x"}
    )
    assert response.status_code == 302 and response["Location"] == ADMIN_INDEX
