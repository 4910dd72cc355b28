"""Print ``NAME=value`` lines: a generated value for every production secret in settings.py.

``.ci/run`` runs ``check --deploy`` with ``DEBUG=false`` (so do the benchmarks run the platform),
where each ``production_secret(...)`` and ``production_secret_list(...)`` of
``careos/settings.py`` must be set; the names are read from
the source, so a secret an app adds is covered without editing CI. Values: ``SECRET_KEY`` a long
random string, every other secret a fresh Fernet key (a 256-bit random value that also works
where a Fernet key is expected), lists two Fernet keys (newest first).
"""

import ast
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

SETTINGS = Path(__file__).resolve().parent.parent / "careos" / "settings.py"
KINDS = {"production_secret": "single", "production_secret_list": "list"}


def production_secrets(source: str) -> dict[str, str]:
    """``{name: "single" | "list"}`` for each production secret read in the settings source."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in KINDS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found[node.args[0].value] = KINDS[node.func.id]
    return found


def generated_value(name: str, kind: str) -> str:
    if kind == "list":
        return ",".join(Fernet.generate_key().decode() for _ in range(2))
    if name == "SECRET_KEY":
        return secrets.token_urlsafe(64)
    return Fernet.generate_key().decode()


def production_env() -> dict[str, str]:
    """A generated value for each production secret ``careos/settings.py`` reads."""
    found = production_secrets(SETTINGS.read_text(encoding="utf-8"))
    return {name: generated_value(name, kind) for name, kind in sorted(found.items())}


def main() -> int:
    env = production_env()
    if "SECRET_KEY" not in env:
        print("no production_secret(...) calls found in careos/settings.py", file=sys.stderr)
        return 1
    for name, value in env.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
