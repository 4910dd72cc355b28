"""Helpers for data migrations (they work on historical models: import no live model here).

Another app adds its permissions to the system role templates with a data migration::

    from rbac.migration_helpers import grant_template_permissions

    def forwards(apps, schema_editor):
        grant_template_permissions(apps, {"support_agent": ["support.view_ticket"]})

    class Migration(migrations.Migration):
        dependencies = [("rbac", "0002_role_templates"), ("support", "0001_initial")]
        operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

The permissions are also added to every clinic role cloned from those templates.
"""

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

from rbac.roles import ROLE_TEMPLATES, split_permission


def ensure_permissions(apps: Any, permissions: list[str]) -> dict[str, Any]:
    """Create the model permissions of the apps named in ``permissions`` (Django only creates
    them after all migrations ran) and return ``{"app.codename": Permission}``."""
    Permission = apps.get_model("auth", "Permission")
    labels = {split_permission(p)[0] for p in permissions}
    for label in labels:
        create_permissions(global_apps.get_app_config(label), verbosity=0, apps=apps)
    found: dict[str, Any] = {}
    for permission in permissions:
        app_label, codename = split_permission(permission)
        try:
            found[permission] = Permission.objects.get(
                content_type__app_label=app_label, codename=codename
            )
        except Permission.DoesNotExist as exc:
            raise LookupError(f"permission {permission!r} does not exist") from exc
    return found


def grant_template_permissions(
    apps: Any, grants: dict[str, list[str]], *, include_clones: bool = True
) -> None:
    """Add permissions to the named role templates (and, by default, to their clinic clones)."""
    Role = apps.get_model("rbac", "Role")
    wanted = sorted({p for perms in grants.values() for p in perms})
    by_name = ensure_permissions(apps, wanted)
    for slug, perms in grants.items():
        template = Role.objects.get(clinic__isnull=True, slug=slug)
        objs = [by_name[p] for p in perms]
        template.permissions.add(*objs)
        if include_clones:
            for clone in Role.objects.filter(template=template):
                clone.permissions.add(*objs)


def create_role_templates(apps: Any, schema_editor: Any = None) -> None:
    """Create (or complete) the system role templates of ``rbac.roles``."""
    Role = apps.get_model("rbac", "Role")
    for spec in ROLE_TEMPLATES:
        Role.objects.get_or_create(
            clinic=None,
            slug=spec["slug"],
            defaults={"name": spec["name"], "description": spec["description"]},
        )
    grant_template_permissions(apps, {spec["slug"]: spec["permissions"] for spec in ROLE_TEMPLATES})
