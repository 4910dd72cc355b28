"""``python manage.py seed_demo``: the demo data of every app, idempotent.

Each app that has demo data provides ``<app>/demo.py`` with ``seed(*, stdout) -> None``: it
creates what is missing (get-or-create, never duplicates), writes one line per thing it created
or found to ``stdout``, and records credentials with ``careos.demo.record_demo_credentials``.
The kernel imports no app statically, so the modules are found by name.
"""

import importlib
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from careos.demo import demo_credentials_path, read_demo_credentials

# Layer order (docs/architecture.md): lower apps first, so higher ones can use what they seeded.
DEMO_APPS: tuple[str, ...] = (
    "rbac",
    "engagement",
    "partners",
    "payments",
    "leads",
    "support",
    "connectors",
)

# The app whose demo module creates the demo superuser.
ADMIN_APP = "rbac"


def load_demo_module(app: str) -> ModuleType | None:
    """``<app>.demo`` or ``None`` when the app has none; errors inside the module propagate."""
    name = f"{app}.demo"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, app):
            return None
        raise


class Command(BaseCommand):
    help = "Create the demo data of every app (idempotent): demo superuser, clinic, partner..."

    def handle(self, *args: Any, **options: Any) -> None:
        seeded: list[str] = []
        for app in DEMO_APPS:
            module = load_demo_module(app)
            if module is None:
                continue
            self.stdout.write(self.style.MIGRATE_HEADING(f"{app}:"))
            with transaction.atomic():
                module.seed(stdout=self.stdout)
            seeded.append(app)

        if not seeded:
            self.stdout.write(
                self.style.WARNING(
                    "Nothing was seeded: no app has a demo module (<app>/demo.py) yet."
                )
            )
            return
        if ADMIN_APP not in seeded:
            self.stdout.write(
                self.style.WARNING(
                    f"No demo superuser: {ADMIN_APP}/demo.py does not exist yet "
                    "(create one with `python manage.py createsuperuser`)."
                )
            )
        self.stdout.write(self.style.SUCCESS(f"Demo data seeded by: {', '.join(seeded)}."))
        if read_demo_credentials():
            self.stdout.write(f"Demo credentials are in {demo_credentials_path()}.")
