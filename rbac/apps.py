from typing import Any

from django.apps import AppConfig
from django.core.checks import register
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate

from rbac.db_roles import check_app_role_owns_nothing


def _ensure_role_templates(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """The data migration creates the role templates once; ``flush`` (transactional tests,
    operators) erases them and then sends ``post_migrate``: put them back."""
    from careos.actors import system_actor
    from rbac.models import Role
    from rbac.roles import TEMPLATE_SLUGS
    from rbac.services import role_templates_sync

    if Role._meta.db_table not in connections[using].introspection.table_names():
        return
    if Role.objects.using(using).filter(
        clinic__isnull=True, slug__in=TEMPLATE_SLUGS
    ).count() == len(TEMPLATE_SLUGS):
        return
    role_templates_sync(actor=system_actor("post_migrate"))


def _ensure_platform_group(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """The ``platform`` group (platform staff, ``rbac.scoping``) exists after ``migrate`` and
    after ``flush``; who is in it is the operators' choice."""
    from django.contrib.auth.models import Group

    from rbac.roles import PLATFORM

    if Group._meta.db_table in connections[using].introspection.table_names():
        Group.objects.using(using).get_or_create(name=PLATFORM)


class RbacConfig(AppConfig):
    name = "rbac"

    def ready(self) -> None:
        post_migrate.connect(_ensure_role_templates, sender=self)
        post_migrate.connect(_ensure_platform_group, sender=self)
        register(check_app_role_owns_nothing, deploy=True)

        from django.contrib.auth.signals import user_logged_in

        from rbac.accounts.middleware import start_idle_clock

        user_logged_in.connect(start_idle_clock, dispatch_uid="rbac.accounts.start_idle_clock")
