"""``migrate`` as the owner role, then the app role's privileges (rbac/db_roles.py).

With ``MIGRATION_DATABASE_URL`` set (PostgreSQL), the database is migrated connected as the
owner role it names, which then grants the app role (``DATABASE_URL``'s user) what it needs and
no more. Without it, this is Django's ``migrate``.
"""

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand

from rbac.db_roles import app_role_grant, connected_as_owner


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        with connected_as_owner(alias) as as_owner:
            super().handle(*args, **options)
            if as_owner and app_role_grant(alias=alias) and options["verbosity"] >= 1:
                self.stdout.write("Granted the app role its privileges (rbac/db_roles.py).")
