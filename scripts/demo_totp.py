#!/usr/bin/env python3
"""Print the demo superuser's current one-time code (the second sign-in step of ``make run``).

    .venv/bin/python scripts/demo_totp.py            # reads var/demo-credentials.json
    VAR_DIR=/tmp/x .venv/bin/python scripts/demo_totp.py

The demo admin can see PHI, so after the password the admin asks for a TOTP code. ``seed_demo``
gives them an authenticator device and records its key (``adminTotpSecret``) beside the demo
password; this prints the code an authenticator app would show now (RFC 6238: SHA-1, 6 digits,
30 s), or add the key to an app instead. Demo credentials only: nothing here reads the database.
Standard library only; CI's smoke checks sign in with ``totp_code`` too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP_SECONDS = 30
DIGITS = 6


def totp_code(secret_base32: str, *, at: float | None = None, offset_steps: int = 0) -> str:
    """The code for ``at`` (now by default), ``offset_steps`` time steps later."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    counter = int((time.time() if at is None else at) // STEP_SECONDS) + offset_steps
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    start = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[start : start + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def main() -> int:
    var_dir = Path(os.environ.get("VAR_DIR") or ROOT / "var")
    path = var_dir / "demo-credentials.json"
    try:
        secret = json.loads(path.read_text(encoding="utf-8")).get("adminTotpSecret")
    except (FileNotFoundError, json.JSONDecodeError):
        secret = None
    if not secret:
        print(
            f"no demo TOTP key in {path}: run `make run` (or manage.py seed_demo) first",
            file=sys.stderr,
        )
        return 1
    print(totp_code(secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
