"""Stripe behind a small interface: the real SDK (``stripe``) or a console backend.

``PAYMENTS_STRIPE_BACKEND="stripe"`` calls Stripe through the SDK (``STRIPE_API_BASE`` lets tests
and a local stripe-mock point it elsewhere); ``"console"`` (the development default) answers
locally with fake ids, so bookings work on a fresh machine without a Stripe account.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from django.conf import settings

logger = logging.getLogger(__name__)


class PaymentProviderError(Exception):
    """A provider call failed; ``transient`` says whether retrying may help."""

    def __init__(self, message: str, *, code: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


@dataclass(frozen=True)
class IntentResult:
    id: str
    client_secret: str
    status: str


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str


@dataclass(frozen=True)
class TransferResult:
    id: str


class StripeGateway(Protocol):
    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> IntentResult: ...

    def cancel_payment_intent(self, *, intent_id: str, idempotency_key: str) -> None: ...

    def create_product(
        self, *, product_id: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str: ...

    def create_price(
        self,
        *,
        product: str,
        unit_amount: int,
        currency: str,
        nickname: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str: ...

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        reason: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult: ...

    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult: ...


# Stripe accepts only these refund reasons; ours map onto them (the rest go in metadata).
_STRIPE_REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


def _wrap(exc: stripe.StripeError) -> PaymentProviderError:
    transient = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError)
    code = getattr(exc, "code", None) or type(exc).__name__
    # The SDK's message may echo request data; keep only Stripe's user-facing message.
    message = getattr(exc, "user_message", None) or type(exc).__name__
    return PaymentProviderError(str(message), code=str(code), transient=transient)


class SdkStripeGateway:
    def __init__(self) -> None:
        self.client = stripe.StripeClient(
            api_key=settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        )

    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> IntentResult:
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": metadata,
                    "automatic_payment_methods": {"enabled": True},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc
        return IntentResult(
            id=intent.id, client_secret=intent.client_secret or "", status=intent.status
        )

    def cancel_payment_intent(self, *, intent_id: str, idempotency_key: str) -> None:
        try:
            self.client.v1.payment_intents.cancel(
                intent_id, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc

    def create_product(
        self, *, product_id: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        try:
            product = self.client.v1.products.create(
                params={"id": product_id, "name": name, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc
        return product.id

    def create_price(
        self,
        *,
        product: str,
        unit_amount: int,
        currency: str,
        nickname: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        try:
            price = self.client.v1.prices.create(
                params={
                    "product": product,
                    "unit_amount": unit_amount,
                    "currency": currency.lower(),
                    "nickname": nickname,
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc
        return price.id

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        reason: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult:
        params: dict[str, Any] = {
            "payment_intent": payment_intent,
            "amount": amount,
            "metadata": metadata,
        }
        if reason in _STRIPE_REFUND_REASONS:
            params["reason"] = reason
        try:
            refund = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc
        return RefundResult(id=refund.id, status=refund.status or "pending")

    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult:
        try:
            transfer = self.client.v1.transfers.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "destination": destination,
                    "metadata": metadata,
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _wrap(exc) from exc
        return TransferResult(id=transfer.id)


class ConsoleStripeGateway:
    """No network: deterministic fake ids derived from the idempotency key (so a retry gets the
    same object, as with Stripe)."""

    @staticmethod
    def _id(prefix: str, key: str) -> str:
        return f"{prefix}_console_{hashlib.sha256(key.encode()).hexdigest()[:24]}"

    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> IntentResult:
        intent_id = self._id("pi", idempotency_key)
        logger.info("console stripe: payment intent %s for %s %s", intent_id, amount, currency)
        return IntentResult(
            id=intent_id, client_secret=f"{intent_id}_secret", status="requires_payment_method"
        )

    def cancel_payment_intent(self, *, intent_id: str, idempotency_key: str) -> None:
        logger.info("console stripe: payment intent %s canceled", intent_id)

    def create_product(
        self, *, product_id: str, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str:
        return product_id

    def create_price(
        self,
        *,
        product: str,
        unit_amount: int,
        currency: str,
        nickname: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        return self._id("price", idempotency_key)

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        reason: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> RefundResult:
        return RefundResult(id=self._id("re", idempotency_key), status="succeeded")

    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult:
        return TransferResult(id=self._id("tr", idempotency_key))


def stripe_gateway() -> StripeGateway:
    if settings.PAYMENTS_STRIPE_BACKEND == "stripe":
        return SdkStripeGateway()
    if settings.PAYMENTS_STRIPE_BACKEND == "console":
        return ConsoleStripeGateway()
    raise ValueError(f"Unknown PAYMENTS_STRIPE_BACKEND {settings.PAYMENTS_STRIPE_BACKEND!r}")


def stripe_signature_verify(*, payload: bytes, signature: str) -> None:
    """Check the ``Stripe-Signature`` of ``payload`` (HMAC and timestamp) with the SDK, before
    anything parses the body.

    Raises ``stripe.SignatureVerificationError`` (bad or stale signature) or ``ValueError`` (the
    body is not UTF-8). Without a configured secret every event is refused.
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise stripe.SignatureVerificationError("No webhook secret is configured.", signature)
    stripe.WebhookSignature.verify_header(
        payload,
        signature,
        settings.STRIPE_WEBHOOK_SECRET,
        tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    )
