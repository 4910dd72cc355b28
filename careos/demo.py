"""Demo credentials shared between the demo modules, ``make run`` and CI.

A ``<app>/demo.py`` module that creates a credential (the demo superuser's password, a partner
API key) records it here so the run command can print the login and CI can authenticate its
schemathesis run. The file lives in ``VAR_DIR`` (never committed) and holds demo values only.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings


def demo_credentials_path() -> Path:
    return Path(settings.DEMO_CREDENTIALS_FILE)


def read_demo_credentials() -> dict[str, Any]:
    """The recorded credentials, or ``{}`` when none were recorded yet."""
    path = demo_credentials_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def record_demo_credentials(**values: Any) -> dict[str, Any]:
    """Merge ``values`` (camelCase keys, JSON-serialisable) into the file; return the result."""
    merged = {**read_demo_credentials(), **values}
    _write_atomically(demo_credentials_path(), json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


def demo_partner_env_path() -> Path:
    """``demo-partner.env`` beside the credentials: the demo partner's ``CAREOS_*`` lines, the
    ones ``generate_partner_keys`` prints for a partner's ``.env``. A shell loads them with
    ``set -a && . var/demo-partner.env && set +a`` (docs/examples/send_lead.py reads them)."""
    return demo_credentials_path().with_name("demo-partner.env")


def write_demo_partner_env(text: str) -> Path:
    path = demo_partner_env_path()
    _write_atomically(path, text)
    return path


def _write_atomically(path: Path, text: str) -> None:
    """Write then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
