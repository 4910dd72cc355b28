from pathlib import Path

from django.apps import AppConfig


class CareosConfig(AppConfig):
    name = "careos"
    verbose_name = "CareOS kernel"

    def ready(self) -> None:
        local_state_folders_create()


def local_state_folders_create() -> None:
    """The folders of ``VAR_DIR`` this process needs, made here rather than when the settings are
    imported: the SQLite file's (SQLite does not create it) and the static root (whitenoise warns
    about a missing one). The filesystem broker makes its own (careos.broker)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"] == "django.db.backends.sqlite3" and name and not _in_memory(name):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def _in_memory(name: str) -> bool:
    return name == ":memory:" or "mode=memory" in name
