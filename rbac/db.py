"""Database triggers that make ``rbac_auditevent`` append-only below the ORM.

PostgreSQL: a plpgsql function raises on UPDATE and DELETE (row triggers) and on TRUNCATE
(statement trigger). SQLite: ``RAISE(ABORT, ...)`` triggers on UPDATE and DELETE (SQLite has no
TRUNCATE). Other vendors get no trigger; the model and queryset still refuse.
"""

from typing import Any

TABLE = "rbac_auditevent"
MESSAGE = "rbac_auditevent is append-only"

_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION rbac_auditevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'raise_exception';
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE TRIGGER rbac_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION rbac_auditevent_append_only()
    """,
    f"""
    CREATE TRIGGER rbac_auditevent_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION rbac_auditevent_append_only()
    """,
]
_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS rbac_auditevent_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS rbac_auditevent_no_update_delete ON {TABLE}",
    "DROP FUNCTION IF EXISTS rbac_auditevent_append_only()",
]
_SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS rbac_auditevent_no_update
    BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS rbac_auditevent_no_delete
    BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END
    """,
]
_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS rbac_auditevent_no_update",
    "DROP TRIGGER IF EXISTS rbac_auditevent_no_delete",
]


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_REMOVE
    if vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_REMOVE
    return []


def audit_trigger_sql(vendor: str, *, install: bool) -> list[str]:
    """The statements that install (or remove) the triggers on ``vendor``'s database."""
    return list(_statements(vendor, install=install))


def audit_triggers_supported(vendor: str) -> bool:
    return bool(_statements(vendor, install=True))


def audit_triggers_install(connection: Any) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=True):
            cursor.execute(sql)


def audit_triggers_remove(connection: Any) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=False):
            cursor.execute(sql)
