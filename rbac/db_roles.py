"""Two PostgreSQL roles: an owner that ``migrate`` connects as, and the app role that owns nothing.

The app (web, workers, beat, every other command) connects with ``DATABASE_URL``. A role that
owns a table can ``ALTER TABLE … DISABLE TRIGGER`` on it, and only a superuser can set
``session_replication_role``; so the app role is neither, and may only read and write rows:
``SELECT, INSERT, UPDATE, DELETE`` on the app's tables, ``INSERT, SELECT`` on the audit log, and
the sequences. ``migrate`` connects as the owner (``MIGRATION_DATABASE_URL``: the same database,
another role), creates the tables and grants those privileges after every run, plus default
privileges so a table a later migration creates is granted at once. The roles themselves are
created by ``scripts/postgres_roles.py`` (README, PostgreSQL).

Without ``MIGRATION_DATABASE_URL`` (SQLite, development) everything runs as the one role.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning
from django.db import connections
from psycopg import sql

# Tables the app role may only append to and read (rbac/db.py's triggers guard them too).
APPEND_ONLY_TABLES = ("rbac_auditevent",)
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def owner_configured(alias: str = "default") -> bool:
    """Whether commands that change the schema connect as a separate owner role."""
    owner = settings.MIGRATION_DATABASE
    return bool(owner) and connections[alias].vendor == "postgresql"


def owner_credentials() -> dict[str, Any]:
    """The owner role's ``USER``, ``PASSWORD``, ``HOST`` and ``PORT`` (MIGRATION_DATABASE_URL)."""
    owner = settings.MIGRATION_DATABASE
    return {key: owner.get(key, "") for key in _CREDENTIALS}


@contextmanager
def connected_as_owner(alias: str = "default") -> Iterator[bool]:
    """Within the block, ``connections[alias]`` is connected to its database as the owner role;
    yields whether an owner is configured (else the block runs on the usual connection).

    Only this thread's connection changes (the settings dict is copied, not edited), and the
    block cannot run inside a transaction: closing the connection would end it."""
    if not owner_configured(alias):
        yield False
        return
    connection = connections[alias]
    if connection.in_atomic_block:
        raise RuntimeError("the owner connection cannot be used inside a transaction")
    saved = connection.settings_dict
    connection.close()
    connection.settings_dict = {**saved, **owner_credentials()}
    try:
        yield True
    finally:
        connection.close()
        connection.settings_dict = saved


def _statements(*, app_role: str) -> list[sql.Composed]:
    app = sql.Identifier(app_role)
    dml = sql.SQL("SELECT, INSERT, UPDATE, DELETE")
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA public TO {}").format(dml, app),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app),
        # Tables and sequences the owner creates later (the next migrations) are granted too.
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {} ON TABLES TO {}").format(
            dml, app
        ),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(app),
    ]
    for table in APPEND_ONLY_TABLES:
        statements.append(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}").format(
                sql.Identifier(table), app
            )
        )
    return statements


def app_role_grant(*, alias: str = "default") -> bool:
    """Grant the app role (``DATABASE_URL``'s user) its privileges, on the owner connection
    ``migrate`` uses; False (nothing done) without a separate owner role."""
    app_role = settings.DATABASE_APP_ROLE
    if not owner_configured(alias) or not app_role or app_role == owner_credentials()["USER"]:
        return False
    connection = connections[alias]
    with connection.cursor() as cursor:
        for statement in _statements(app_role=app_role):
            cursor.execute(statement)
    return True


def check_app_role_owns_nothing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Deploy check: on PostgreSQL, ``migrate`` has an owner role of its own, so the app's
    role is not the one that owns the tables (and could rewrite the audit log)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql" or settings.MIGRATION_DATABASE:
        return []
    return [
        CheckWarning(
            "The app connects to PostgreSQL as the role that owns its tables: it can disable "
            "the audit log's triggers and rewrite it.",
            hint="Create an owner and an app role (scripts/postgres_roles.py), set DATABASE_URL "
            "to the app role and MIGRATION_DATABASE_URL to the owner (docs/security.md).",
            id="rbac.W001",
        )
    ]
