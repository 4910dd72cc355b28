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
    path = demo_credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**read_demo_credentials(), **values}
    # Write then rename: a reader never sees half a file.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".demo-credentials-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(merged, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return merged
