"""The test database as production has it: created and migrated by the owner role, used by the
app role (``MIGRATION_DATABASE_URL`` and ``DATABASE_URL``, rbac/db_roles.py).

pytest-django creates each test database (``test_<name>``, one per xdist worker) with the
credentials of ``DATABASES["default"]``: during its set-up and tear-down they are the owner's, in
between (every test) the app role's. Without ``MIGRATION_DATABASE_URL`` nothing changes.
"""

from collections.abc import Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from rbac.db import audit_trigger_sql
from rbac.db_roles import owner_configured, owner_credentials
from tests.infra import require_postgresql, skip_or_fail

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")
_app_credentials: dict[str, Any] = {}


def credentials_use(*, owner: bool) -> None:
    """Point the default database at the owner's or the app role's credentials (this process)."""
    if not owner_configured():
        return
    database = settings.DATABASES["default"]  # the dict every connection of the alias reads
    if not _app_credentials:
        _app_credentials.update({key: database.get(key, "") for key in _CREDENTIALS})
    connection.close()
    database.update(owner_credentials() if owner else _app_credentials)


def owner_connect() -> psycopg.Connection[Any]:
    """A psycopg connection to the current (test) database as the owner role, autocommit."""
    credentials = owner_credentials()
    return psycopg.connect(
        host=credentials["HOST"] or "127.0.0.1",
        port=credentials["PORT"] or 5432,
        user=credentials["USER"],
        password=credentials["PASSWORD"] or None,
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    )


def require_app_role() -> None:
    """Skip (locally) or fail (CI=true) unless the tests connect as a separate app role."""
    require_postgresql()
    if not owner_configured():
        skip_or_fail("needs MIGRATION_DATABASE_URL: the owner role (the tests connect as the app)")


def execute_as_owner(
    statement: str, params: Sequence[Any] = (), *, triggers_off: bool = False
) -> None:
    """Run one statement as the table owner, committed: on a connection of the owner role, or
    on the test's own connection when there is no separate owner (SQLite, one PostgreSQL role).
    With ``triggers_off``, the audit log's append-only triggers are lifted around it (what
    someone holding the owner role could do to tamper with the log)."""
    vendor = connection.vendor
    statements = [statement]
    if triggers_off:
        statements = [
            *audit_trigger_sql(vendor, install=False),
            statement,
            *audit_trigger_sql(vendor, install=True),
        ]
    if not owner_configured():
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql, (params or None) if sql is statement else None)
        return
    with owner_connect() as owner:
        try:
            with owner.transaction():
                for sql in statements:
                    owner.execute(sql, (params or None) if sql is statement else None)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise DatabaseError(str(exc)) from exc
