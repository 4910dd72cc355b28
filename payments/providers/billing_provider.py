"""The external subscription billing provider ("CVT"): its HTTP API and webhook signatures.

``BILLING_PROVIDER_BACKEND="http"`` calls the provider through the kernel's ``safe_client``
(timeouts, SSRF guard); base URL and secret come from ``BILLING_PROVIDER_API_URL`` /
``BILLING_PROVIDER_SECRET_KEY``. ``"console"`` (the development default) answers locally: keys
starting with ``cvt_test_`` verify, every charge succeeds.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils.dateparse import parse_datetime

from careos.http import safe_client


class BillingProviderError(Exception):
    """``status_code`` is the provider's HTTP status, None when no usable answer arrived
    (timeout, connection error)."""

    def __init__(self, message: str, *, transient: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status_code = status_code


class BillingProviderNotConfigured(BillingProviderError):
    def __init__(self) -> None:
        super().__init__("BILLING_PROVIDER_API_URL is not set.", transient=False)


@dataclass(frozen=True)
class ProviderCustomer:
    id: str
    subscription_status: str
    plan: str
    trial_ends_at: datetime | None
    email: str = ""


@dataclass(frozen=True)
class ProviderCharge:
    id: str
    status: str
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def _client() -> httpx.Client:
    if not settings.BILLING_PROVIDER_API_URL:
        raise BillingProviderNotConfigured()
    client = safe_client(
        timeout=settings.BILLING_PROVIDER_TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {settings.BILLING_PROVIDER_SECRET_KEY}"},
    )
    client.base_url = httpx.URL(settings.BILLING_PROVIDER_API_URL.rstrip("/"))
    return client


def _post(path: str, body: dict[str, Any], *, idempotency_key: str = "") -> httpx.Response:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    try:
        with _client() as client:
            return client.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise BillingProviderError(f"{type(exc).__name__} calling {path}", transient=True) from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise BillingProviderError(
            "The provider answered with non-JSON.", transient=True, status_code=response.status_code
        ) from None
    if not isinstance(data, dict):
        raise BillingProviderError(
            "The provider answered with non-object JSON.",
            transient=True,
            status_code=response.status_code,
        )
    return data


def _customer(data: dict[str, Any]) -> ProviderCustomer:
    subscription = data.get("subscription") or {}
    trial = data.get("trialEndsAt") or data.get("trial_ends_at")
    return ProviderCustomer(
        id=str(data.get("id") or ""),
        subscription_status=str(subscription.get("status") or "active"),
        plan=str(subscription.get("plan") or "basic"),
        trial_ends_at=parse_datetime(trial) if isinstance(trial, str) else None,
        email=str(data.get("email") or ""),
    )


def _console() -> bool:
    return settings.BILLING_PROVIDER_BACKEND == "console"


def provider_verify_key(*, api_key: str) -> ProviderCustomer | None:
    """The provider's customer for ``api_key``, or None when the provider refuses the key. A
    verified key the provider knows no customer for yet comes back with an empty ``id``."""
    if _console():
        if not api_key.startswith("cvt_test_"):
            return None
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        return ProviderCustomer(
            id=f"cus_console_{digest}",
            subscription_status="active",
            plan="basic",
            trial_ends_at=None,
        )
    response = _post("/v1/verify", {"api_key": api_key})
    if response.status_code in (400, 401, 403, 404, 422):
        return None
    if response.status_code >= 300:
        raise BillingProviderError(
            f"verify answered {response.status_code}",
            transient=response.status_code >= 500,
            status_code=response.status_code,
        )
    return _customer(_json(response))


def provider_customer_create(
    *, email: str, name: str, plan: str, idempotency_key: str
) -> ProviderCustomer:
    """Create the customer at the provider for a verified key that has none yet; the
    idempotency key makes a retry after a timeout return the same customer."""
    if _console():
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return ProviderCustomer(
            id=f"cus_console_{digest}",
            subscription_status="active",
            plan=plan,
            trial_ends_at=None,
            email=email,
        )
    response = _post(
        "/v1/customers",
        {"email": email, "name": name, "plan": plan},
        idempotency_key=idempotency_key,
    )
    if response.status_code >= 300:
        raise BillingProviderError(
            f"customers answered {response.status_code}",
            transient=response.status_code >= 500,
            status_code=response.status_code,
        )
    customer = _customer(_json(response))
    if not customer.id:
        raise BillingProviderError(
            "customers answered without an id", transient=True, status_code=response.status_code
        )
    return customer


def provider_charge(
    *, customer_id: str, amount: int, currency: str, description: str, idempotency_key: str
) -> ProviderCharge:
    """Charge ``customer_id``; a declined charge is a ``ProviderCharge`` with status failed."""
    if _console():
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return ProviderCharge(id=f"ch_console_{digest}", status="succeeded")
    response = _post(
        "/v1/charges",
        {
            "customer_id": customer_id,
            "amount": amount,
            "currency": currency,
            "description": description,
        },
        idempotency_key=idempotency_key,
    )
    if response.status_code >= 500:
        raise BillingProviderError(f"charges answered {response.status_code}", transient=True)
    data = _json(response)
    if response.status_code >= 300:
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return ProviderCharge(id="", status="failed", error=str(message or "declined")[:500])
    return ProviderCharge(
        id=str(data.get("id") or ""),
        status=str(data.get("status") or "failed"),
        error=str(data.get("error") or "")[:500],
        raw=data,
    )


SIGNATURE_SCHEMES = ("plain", "timestamped")


def provider_signature(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Hex HMAC-SHA256 keyed with ``secret``: of the raw body (the provider's ``plain`` scheme),
    or of ``"<timestamp>.<raw body>"`` when a timestamp is given (``timestamped``)."""
    signed = payload if timestamp is None else f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def provider_signature_valid(
    *, payload: bytes, signature: str, timestamp: str, now: float | None = None
) -> bool:
    """Whether ``signature`` (the ``CVT-Signature`` header) signs ``payload`` under
    ``BILLING_PROVIDER_SIGNATURE_SCHEME``, compared in constant time.

    ``plain`` (the provider's scheme) signs the raw body alone, so a captured request can be
    replayed: only the once-per-event-id processing makes a replay harmless. ``timestamped``
    signs ``"<CVT-Timestamp>.<raw body>"`` and refuses a timestamp further than
    ``BILLING_PROVIDER_WEBHOOK_TOLERANCE_SECONDS`` from now.
    """
    secret = settings.BILLING_PROVIDER_WEBHOOK_SECRET
    scheme = settings.BILLING_PROVIDER_SIGNATURE_SCHEME
    if not secret or not signature or scheme not in SIGNATURE_SCHEMES:
        return False
    signed_at: int | None = None
    if scheme == "timestamped":
        if not timestamp.isdigit():
            return False
        now = time.time() if now is None else now
        if abs(now - int(timestamp)) > settings.BILLING_PROVIDER_WEBHOOK_TOLERANCE_SECONDS:
            return False
        signed_at = int(timestamp)
    expected = provider_signature(payload=payload, secret=secret, timestamp=signed_at)
    # As bytes: compare_digest refuses a str with non-ASCII characters (a forged header).
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
