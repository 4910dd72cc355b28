"""Sign-in throttling (django-axes): failed passwords per username and client address."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from rbac.models import User
from rbac.roles import PLATFORM

PASSWORD = "the right password 42"


@pytest.fixture
def staff(db) -> User:
    """Platform staff: the console opens for them (rbac.console), so a right password signs in."""
    user = User.objects.create_user(username="nurse", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM))
    return user


def attempt(client: Client, path: str, password: str, *, ip: str = "203.0.113.7", **extra):  # type: ignore[no-untyped-def]
    return client.post(path, {"username": "nurse", "password": password}, REMOTE_ADDR=ip, **extra)


@pytest.mark.parametrize("path", ["/admin/login/", "/accounts/login/"])
def test_the_right_password_after_too_many_wrong_ones_is_refused(staff, settings, path):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, path, "wrong").status_code == 200  # the form, with its error
    locked = attempt(client, path, "wrong")
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(settings.AXES_COOLOFF_TIME.seconds)
    response = attempt(client, path, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_username_and_address(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/admin/login/", "wrong")
    assert attempt(client, "/admin/login/", PASSWORD).status_code == 429
    # The same account from another address, and another account from this one, still sign in.
    other = Client()
    assert attempt(other, "/admin/login/", PASSWORD, ip="198.51.100.9").status_code == 302
    doctor = User.objects.create_user(username="doctor", password=PASSWORD, is_staff=True)
    doctor.groups.add(Group.objects.get(name=PLATFORM))
    third = Client()
    response = third.post(
        "/admin/login/", {"username": "doctor", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 302


def test_a_client_asking_for_json_gets_problem_json(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/accounts/login/", "wrong")
    response = attempt(client, "/accounts/login/", PASSWORD, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "login_locked" and body["status"] == 429
    assert "30 minutes" in body["detail"]


def test_lockouts_are_listed_in_the_admin_and_can_be_lifted(staff, settings, admin_client):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/admin/login/", "wrong")
    page = admin_client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "nurse" in html and "203.0.113.7" in html

    from axes.models import AccessAttempt

    attempt_id = AccessAttempt.objects.get(username="nurse").pk
    admin_client.post(f"/admin/axes/accessattempt/{attempt_id}/delete/", {"post": "yes"})
    assert attempt(client, "/admin/login/", PASSWORD).status_code == 302
