"""Console users for tests: clinic staff whose access comes from a clinic role, and platform
staff (the ``platform`` group)."""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.test import Client

from careos.actors import system_actor
from rbac import services
from rbac.models import Clinic, Role, User
from rbac.roles import PLATFORM, split_permission
from tests.clients import SignedInClient


def permissions(names: Iterable[str]) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = split_permission(name)
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def clinic_staff(clinic: Clinic, perms: Iterable[str], *, username: str) -> User:
    """A staff user whose one membership, in ``clinic``, has a role granting ``perms``."""
    role = Role.objects.create(clinic=clinic, slug=f"{username}-role", name=f"{username} role")
    role.permissions.add(*permissions(perms))
    user = User.objects.create_user(username=username, kind=User.Kind.STAFF, password=None)
    services.membership_grant(user=user, clinic=clinic, role=role, actor=system_actor("tests"))
    return User.objects.get(pk=user.pk)


def platform_staff(*, username: str, perms: Iterable[str] = ()) -> User:
    user = User.objects.create_user(
        username=username, kind=User.Kind.STAFF, password=None, is_staff=True
    )
    user.groups.add(Group.objects.get(name=PLATFORM))
    user.user_permissions.add(*permissions(perms))
    return User.objects.get(pk=user.pk)


def client_for(user: User) -> Client:
    """Signed in with both factors (tests/clients.py), as the console asks of PHI staff."""
    client = SignedInClient()
    client.force_login(user)
    return client
