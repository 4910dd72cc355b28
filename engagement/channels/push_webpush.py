"""Web Push (RFC 8030 + VAPID) through ``pywebpush``."""

import json
import os
import socket
from typing import Any

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid, VapidException
from py_vapid.utils import b64urldecode
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter
from requests.exceptions import RequestException
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from careos.http import SystemResolver, UnsafeURLError, check_addresses, validate_public_url
from engagement.channels.base import (
    Outbound,
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
    Transport,
)


class _PinnedConnectionMixin:
    """Resolves once, checks every address, and connects to the checked one, so a host cannot
    answer a public address to the check and a private one to the connect (DNS rebinding).
    ``host`` is untouched: the Host header, SNI and certificate check use the real name."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = SystemResolver().resolve(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last_error: OSError | None = None
        for address in check_addresses(self.host, addresses):
            try:
                return connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    """Refuses any request whose host resolves to a non-public address (kernel SSRF rules),
    before sending and again at the connection (which connects to the address it checked)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPConnectionPool,
            "https": _PinnedHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        validate_public_url(request.url or "")
        return super().send(request, **kwargs)


class PushSession(requests.Session):
    """The session pywebpush posts through.

    The endpoint was checked at registration, but it is the browser's URL and its DNS can change
    later, so the adapter checks again right before every request. Redirects are never followed
    (a push service answers 201; a 3xx is a failed push), and environment proxies are ignored
    (a proxy would resolve the host itself). pywebpush is tied to ``requests``, so the kernel's
    ``safe_client`` (httpx) cannot be used; its guard is rebuilt here with the kernel's own
    ``check_addresses``: the connection is opened to the very address that was checked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        adapter = _PublicOnlyAdapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


# Any of these from py_vapid means the key cannot sign: bad base64 (binascii.Error is a
# ValueError), bad DER or an out-of-range scalar (ValueError), an unreadable key file (OSError).
_KEY_ERRORS = (ValueError, TypeError, OSError, UnsupportedAlgorithm, VapidException)
# Any origin does for a trial signature: py_vapid requires one.
_TRIAL_AUDIENCE = "https://push.example.net"


def _uncompressed(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def vapid_from_settings() -> Vapid:
    """The VAPID signer for ``VAPID_PRIVATE_KEY``, read the way pywebpush reads it (a path to a
    PEM or DER key file, else the key itself: base64url of the raw 32-byte P-256 scalar, or of
    its DER encoding), after a trial signature with ``VAPID_SUBJECT``; ``VAPID_PUBLIC_KEY``, when
    set, must be its public key (base64url uncompressed point, what browsers are given).

    Raises ``ImproperlyConfigured`` naming the setting at fault, never its value.
    """
    private_key = settings.VAPID_PRIVATE_KEY.strip()
    try:
        if os.path.isfile(private_key):
            vapid = Vapid.from_file(private_key_file=private_key)
        else:
            vapid = Vapid.from_string(private_key=private_key)
    except _KEY_ERRORS as exc:
        raise ImproperlyConfigured(
            f"VAPID_PRIVATE_KEY does not parse ({type(exc).__name__}): expected base64url of a "
            "raw 32-byte P-256 private key or of its DER encoding, or the path of a PEM/DER file"
        ) from exc
    key = vapid.private_key
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY is not a P-256 (prime256v1) EC key")
    try:
        vapid.sign({"sub": settings.VAPID_SUBJECT, "aud": _TRIAL_AUDIENCE})
    except VapidException as exc:
        raise ImproperlyConfigured(
            "VAPID_SUBJECT must be a mailto: address or an https: URL"
        ) from exc
    if public_key := settings.VAPID_PUBLIC_KEY.strip():
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), b64urldecode(public_key.encode())
            )
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                "VAPID_PUBLIC_KEY does not parse: expected base64url of an uncompressed P-256 "
                "point (65 bytes)"
            ) from exc
        if _uncompressed(public) != _uncompressed(vapid.public_key):
            raise ImproperlyConfigured(
                "VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY: browsers would "
                "subscribe with a key the push service then refuses"
            )
    return vapid


class WebPushTransport(Transport):
    """``outbound.to`` is the subscription JSON (``endpoint`` + ``keys``)."""

    provider = "webpush"

    @classmethod
    def missing_settings(cls) -> list[str]:
        return [n for n in ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT") if not getattr(settings, n)]

    @classmethod
    def invalid_settings(cls) -> list[str]:
        try:
            vapid_from_settings()
        except ImproperlyConfigured as exc:
            return [str(exc)]
        return []

    def __init__(self) -> None:
        super().__init__()
        # Parsed once per process; an unusable key fails here (the message is recorded as failed
        # with the reason) rather than inside pywebpush at every send.
        self.vapid = vapid_from_settings()
        self.session = PushSession()

    def send(self, outbound: Outbound) -> ProviderResult:
        payload = json.dumps(
            {"title": outbound.subject, "body": outbound.body, "messageId": outbound.message_ref}
        )
        try:
            response = webpush(
                subscription_info=json.loads(outbound.to),
                data=payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=settings.PUSH_TTL_SECONDS,
                timeout=settings.OUTBOUND_HTTP_TIMEOUT_SECONDS,
                requests_session=self.session,
            )
        except UnsafeURLError as exc:
            if isinstance(exc.__cause__, OSError):  # DNS trouble: not a verdict on the endpoint
                raise TransientProviderError(f"push endpoint: {exc.reason}") from exc
            # The endpoint now points inside our network: never retry, retire the subscription.
            raise PermanentProviderError(
                f"push endpoint refused: {exc.reason}", code="unsafe_url", undeliverable=True
            ) from exc
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            reason = f"push service {status or 'error'}"
            if status in (404, 410):
                raise PermanentProviderError(reason, code=str(status), undeliverable=True) from exc
            if status == 0 or status >= 500 or status == 429:
                raise TransientProviderError(reason, code=str(status)) from exc
            raise PermanentProviderError(reason, code=str(status)) from exc
        except RequestException as exc:
            raise TransientProviderError(f"push service unreachable: {type(exc).__name__}") from exc
        location = response.headers.get("Location", "") if response is not None else ""
        return ProviderResult(provider=self.provider, provider_message_id=location[-128:])
