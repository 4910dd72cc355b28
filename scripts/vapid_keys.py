"""Print a fresh VAPID key pair as ``NAME=value`` lines, for a deployment's environment.

``VAPID_PRIVATE_KEY`` is base64url of the raw 32-byte P-256 private key (the format
``web-push generate-vapid-keys`` prints and pywebpush reads), ``VAPID_PUBLIC_KEY`` base64url of
the uncompressed public point (a browser's ``applicationServerKey``). Generate the pair once per
deployment and keep it: every push subscription is bound to the public key it was made with.
``.ci/run`` generates one per run for ``check --deploy`` (``engagement.E003`` parses both).
"""

import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid.utils import b64urlencode


def vapid_key_pair() -> dict[str, str]:
    """``{"VAPID_PRIVATE_KEY": ..., "VAPID_PUBLIC_KEY": ...}``, freshly generated."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "VAPID_PRIVATE_KEY": b64urlencode(key.private_numbers().private_value.to_bytes(32, "big")),
        "VAPID_PUBLIC_KEY": b64urlencode(public),
    }


def main() -> int:
    for name, value in vapid_key_pair().items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
