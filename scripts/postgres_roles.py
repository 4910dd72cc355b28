"""Create (or bring up to date) the two PostgreSQL roles CareOS runs with, and its database.

    .venv/bin/python scripts/postgres_roles.py \\
        --admin-url postgres://postgres@127.0.0.1:5432/postgres \\
        --owner-url "$MIGRATION_DATABASE_URL" --app-url "$DATABASE_URL" [--owner-createdb]

Role names, passwords and the database come from the two URLs the platform reads
(``MIGRATION_DATABASE_URL``: the owner ``migrate`` connects as; ``DATABASE_URL``: the app role);
``--admin-url`` is a role allowed to create roles and databases (a superuser), used only here.
Idempotent: run it again after changing a password. It makes

- the owner role: LOGIN, no superuser, no CREATEROLE, no BYPASSRLS; CREATEDB only with
  ``--owner-createdb`` (pytest-django creates its test databases as the owner);
- the app role: LOGIN and nothing else (no superuser, CREATEDB, CREATEROLE, REPLICATION,
  BYPASSRLS) and not a member of the owner role (a member could act as the owner);
- the database, owned by the owner role, where PUBLIC may not create objects.

The app role's privileges on the tables are granted by ``manage.py migrate`` (rbac/db_roles.py),
which runs as the owner. Standalone (psycopg only): it does not load the Django settings.
"""

import argparse
import sys
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql


def url_parts(url: str) -> dict[str, str | int | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or not parts.username:
        raise SystemExit(f"not a postgres:// URL with a user name: {parts.scheme}://…")
    return {
        "user": unquote(parts.username),
        "password": unquote(parts.password) if parts.password else None,
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "dbname": unquote(parts.path.lstrip("/")) or None,
    }


def role_ensure(cursor: psycopg.Cursor, *, name: str, password: str | None, attrs: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    verb = "ALTER" if cursor.fetchone() else "CREATE"
    statement = sql.SQL(f"{verb} ROLE {{}} {attrs}").format(sql.Identifier(name))
    if password is not None:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    cursor.execute(statement)
    print(f"{'created' if verb == 'CREATE' else 'updated'} role {name}: {attrs}")


def roles_ensure(*, admin_url: str, owner_url: str, app_url: str, owner_createdb: bool) -> None:
    owner, app = url_parts(owner_url), url_parts(app_url)
    database = app["dbname"]
    if not database or owner["dbname"] != database:
        raise SystemExit("--owner-url and --app-url must name the same database")
    if owner["user"] == app["user"]:
        raise SystemExit("the owner and the app role must be different roles")
    owner_name, app_name = str(owner["user"]), str(app["user"])
    with psycopg.connect(admin_url, autocommit=True) as admin, admin.cursor() as cursor:
        cursor.execute(
            "SELECT rolname FROM pg_roles WHERE rolsuper AND rolname IN (%s, %s)",
            [owner_name, app_name],
        )
        if row := cursor.fetchone():
            raise SystemExit(
                f"role {row[0]} is a superuser: name other roles (this never demotes one)"
            )
        role_ensure(
            cursor,
            name=owner_name,
            password=owner["password"],  # type: ignore[arg-type]
            attrs="LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            + ("CREATEDB" if owner_createdb else "NOCREATEDB"),
        )
        role_ensure(
            cursor,
            name=app_name,
            password=app["password"],  # type: ignore[arg-type]
            attrs="LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        )
        cursor.execute(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
            "WHERE r.rolname = %s",
            [app_name],
        )
        if cursor.fetchone():
            raise SystemExit(
                f"role {app_name} is a member of other roles: remove it from them (it must not "
                "act as the owner)"
            )
        cursor.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(str(database)), sql.Identifier(owner_name)
                )
            )
            print(f"created database {database}, owned by {owner_name}")
        elif row[0] != owner_name:
            cursor.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(str(database)), sql.Identifier(owner_name)
                )
            )
            print(f"database {database} now owned by {owner_name} (was {row[0]})")
    admin_in_database = urlsplit(admin_url)._replace(path=f"/{database}").geturl()
    with psycopg.connect(admin_in_database, autocommit=True) as admin, admin.cursor() as cursor:
        # PostgreSQL 15 and later already refuse PUBLIC this; older versions allow it.
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        cursor.execute(
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app_name))
        )
    print(f"ok: {app_name} (app) and {owner_name} (owner) on database {database}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", required=True, help="a superuser's postgres:// URL")
    parser.add_argument("--owner-url", required=True, help="MIGRATION_DATABASE_URL")
    parser.add_argument("--app-url", required=True, help="DATABASE_URL")
    parser.add_argument(
        "--owner-createdb", action="store_true", help="let the owner create (test) databases"
    )
    args = parser.parse_args(argv)
    roles_ensure(
        admin_url=args.admin_url,
        owner_url=args.owner_url,
        app_url=args.app_url,
        owner_createdb=args.owner_createdb,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
