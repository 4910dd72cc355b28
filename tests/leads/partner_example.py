"""The partner example of docs/partner-integration.md, loaded from its file so the tests run
exactly what partners copy."""

import importlib.util
from pathlib import Path
from types import ModuleType

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "send_lead.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("careos_send_lead_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load()
encrypt_phone = example.encrypt_phone
phone_hash = example.phone_hash
