"""``flush`` that respects the append-only audit log.

Django's ``flush`` empties every table (TRUNCATE on PostgreSQL, DELETE on SQLite), which the
audit triggers refuse. Test runs need it (transactional tests flush after each test), so with
``RBAC_AUDIT_FLUSH_ALLOWED`` on, the triggers are dropped and re-created around the flush in
one transaction; otherwise the command refuses to run. With an owner role configured
(``MIGRATION_DATABASE_URL``), the flush connects as the owner: the app role may not truncate
tables nor drop triggers.
"""

from typing import Any

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections, transaction

from rbac.db import audit_triggers_install, audit_triggers_remove, audit_triggers_supported
from rbac.db_roles import connected_as_owner


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if not audit_triggers_supported(connection.vendor):
            super().handle(**options)
            return
        if not settings.RBAC_AUDIT_FLUSH_ALLOWED:
            raise CommandError(
                "The audit log is append-only: flush would erase it. "
                "Set RBAC_AUDIT_FLUSH_ALLOWED=true only for disposable (test) databases."
            )
        with connected_as_owner(options["database"]), transaction.atomic(using=options["database"]):
            audit_triggers_remove(connection)
            super().handle(**options)
            audit_triggers_install(connection)
