"""payments fixtures: Stripe and the billing provider are faked at the HTTP boundary (the real
``stripe`` SDK and our httpx client make real requests that ``responses``/``respx`` answer)."""

import hashlib
import hmac
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from careos.actors import Actor, system_actor
from partners.models import Partner
from payments.models import ConnectedAccount
from payments.services.bookings import booking_create
from payments.services.pricing import ServiceOrder
from rbac.models import Clinic, Role, User
from rbac.services import clinic_create, membership_grant
from tests.payments.catalogue import CATALOGUE_TOTAL, Catalogue, catalogue_make

STRIPE_BASE = "https://api.stripe.test"
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
PROVIDER_BASE = "https://billing.provider.test"
PROVIDER_WEBHOOK_SECRET = "cvt-webhook-secret"


@pytest.fixture(autouse=True)
def _payments_settings(settings):  # type: ignore[no-untyped-def]
    settings.PAYMENTS_STRIPE_BACKEND = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_careos"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = STRIPE_BASE
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.PAYMENTS_PLATFORM_FEE_BPS = 1500
    settings.PAYMENTS_SPECIALIST_MIN_PAYOUT = 1000
    settings.PARTNER_PAYMENT_MIN_PAYOUT = 5000
    settings.BILLING_PROVIDER_BACKEND = "http"
    settings.BILLING_PROVIDER_API_URL = PROVIDER_BASE
    settings.BILLING_PROVIDER_SECRET_KEY = "cvt-secret"
    settings.BILLING_PROVIDER_WEBHOOK_SECRET = PROVIDER_WEBHOOK_SECRET
    settings.ENGAGEMENT_QUIET_HOURS_START = "00:00"
    settings.ENGAGEMENT_QUIET_HOURS_END = "00:00"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@dataclass
class FakeStripe:
    """A tiny Stripe: PaymentIntents, refunds and transfers, with idempotency keys honoured."""

    calls: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    by_key: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # path -> (status, body) answered once (and stored under its key, as Stripe does), or an
    # exception raised once (the request never reached Stripe: nothing stored).
    fail_next: dict[str, Any] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def posts(self, path: str) -> list[dict[str, list[str]]]:
        return [params for p, params, _ in self.calls if p == path]

    def keys(self, path: str) -> list[str]:
        return [key for p, _, key in self.calls if p == path]

    def handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        path = request.path_url.split("?")[0]
        params = parse_qs(request.body or "")
        key = request.headers.get("Idempotency-Key", "")
        self.calls.append((path, params, key))
        if key in self.by_key:
            status, body = self.by_key[key]
            return status, {"Idempotent-Replayed": "true"}, json.dumps(body)
        failure = self.fail_next.pop(path, None)
        if isinstance(failure, Exception):
            raise failure
        if failure is not None:
            status, body = failure
        else:
            status, body = 200, self._create(path, params)
        self.by_key[key] = (status, body)
        return status, {"Request-Id": f"req_{next(self.ids)}"}, json.dumps(body)

    def _create(self, path: str, params: dict[str, list[str]]) -> dict[str, Any]:
        n = next(self.ids)
        amount = int(params.get("amount", ["0"])[0])
        if path.startswith("/v1/payment_intents/") and path.endswith("/cancel"):
            return {"id": path.split("/")[3], "object": "payment_intent", "status": "canceled"}
        if path == "/v1/payment_intents":
            return {
                "id": f"pi_{n}",
                "object": "payment_intent",
                "amount": amount,
                "currency": params["currency"][0],
                "client_secret": f"pi_{n}_secret_{n}",
                "status": "requires_payment_method",
            }
        if path == "/v1/refunds":
            return {
                "id": f"re_{n}",
                "object": "refund",
                "amount": amount,
                "payment_intent": params["payment_intent"][0],
                "status": "succeeded",
            }
        return {
            "id": f"tr_{n}",
            "object": "transfer",
            "amount": amount,
            "currency": params["currency"][0],
            "destination": params["destination"][0],
        }


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for path in ("/v1/payment_intents", "/v1/refunds", "/v1/transfers"):
            mock.add_callback(responses.POST, f"{STRIPE_BASE}{path}", callback=fake.handle)
        mock.add_callback(
            responses.POST,
            re.compile(rf"{re.escape(STRIPE_BASE)}/v1/payment_intents/[^/]+/cancel"),
            callback=fake.handle,
        )
        yield fake


def stripe_signature(
    payload: bytes, *, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None
) -> str:
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


_event_ids = itertools.count(1)


def stripe_event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_test_{next(_event_ids)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


@pytest.fixture
def post_stripe_event(api_client, django_capture_on_commit_callbacks) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    def post(event: dict[str, Any], *, signature: str | None = None) -> Any:
        payload = json.dumps(event).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/api/v1/payments/stripe/webhook",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature or stripe_signature(payload),
            )

    return post


def intent_succeeded(payment: Any) -> dict[str, Any]:
    return stripe_event(
        "payment_intent.succeeded",
        {
            "id": payment.stripe_payment_intent_id,
            "object": "payment_intent",
            "amount": payment.amount,
            "amount_received": payment.amount,
            "currency": payment.currency.lower(),
            "status": "succeeded",
            "latest_charge": f"ch_for_{payment.stripe_payment_intent_id}",
        },
    )


@pytest.fixture
def actor() -> Actor:
    return system_actor("tests")


@pytest.fixture
def clinic(db, actor: Actor) -> Clinic:  # type: ignore[no-untyped-def]
    return clinic_create(
        name="Harbor Clinic",
        slug="harbor",
        timezone="UTC",
        languages=["en", "es"],
        regions=["NY"],
        actor=actor,
    )


_users = itertools.count(1)


@pytest.fixture
def make_member(db, clinic: Clinic, actor: Actor) -> Callable[..., User]:  # type: ignore[no-untyped-def]
    def make(kind: str, role_slug: str, *, in_clinic: Clinic | None = None, **fields: Any) -> User:
        user = User.objects.create_user(
            username=f"{kind}{next(_users)}", kind=kind, password=None, **fields
        )
        target = in_clinic or clinic
        membership_grant(
            user=user,
            clinic=target,
            role=Role.objects.get(clinic=target, slug=role_slug),
            actor=actor,
        )
        return user

    return make


@pytest.fixture
def patient(make_member) -> User:  # type: ignore[no-untyped-def]
    return make_member(User.Kind.PATIENT, "patient", email="pat@example.com")


@pytest.fixture
def specialist(make_member) -> User:  # type: ignore[no-untyped-def]
    user = make_member(User.Kind.SPECIALIST, "specialist")
    ConnectedAccount.objects.create(user=user, stripe_account_id=f"acct_spec_{user.pk}")
    return user


@pytest.fixture
def billing_user(make_member) -> User:  # type: ignore[no-untyped-def]
    return make_member(User.Kind.STAFF, "billing")


# The catalogue's booking: consultation + 2 blood tests, FIRSTVISIT, 10% tax on consultations.
LINES_TOTAL = CATALOGUE_TOTAL


@pytest.fixture
def catalogue(clinic: Clinic, actor: Actor) -> Catalogue:
    return catalogue_make(clinic=clinic, actor=actor)


@pytest.fixture
def make_booking(
    clinic: Clinic, patient: User, specialist: User, actor: Actor, catalogue: Catalogue
) -> Callable[..., Any]:
    def make(
        *,
        partner: Partner | None = None,
        items: list[ServiceOrder] | None = None,
        discount_code: str = "FIRSTVISIT",
    ) -> Any:
        return booking_create(
            patient=patient,
            clinic=clinic,
            specialist=specialist,
            partner=partner,
            starts_at=timezone.now() + timedelta(days=2),
            items=items or catalogue.orders,
            discount_code=discount_code,
            actor=actor,
        )

    return make


@pytest.fixture
def paid_booking(make_booking, fake_stripe, post_stripe_event) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """A booking paid through the real flow: intent created, then the webhook confirms it."""
    from payments.services.bookings import booking_pay

    def make(**kwargs: Any) -> Any:
        booking = make_booking(**kwargs)
        start = booking_pay(booking=booking, actor=system_actor("tests"))
        response = post_stripe_event(intent_succeeded(start.payment))
        assert response.status_code == 200
        start.payment.refresh_from_db()
        booking.refresh_from_db()
        return booking, start.payment

    return make


def amount_of(params: dict[str, list[str]]) -> int:
    return int(params["amount"][0])


SLUG_RE = re.compile(r"^[a-z0-9-]+$")


@dataclass
class FakeProvider:
    """The billing provider's API: known keys verify, charges succeed unless told otherwise."""

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    decline: set[str] = field(default_factory=set)
    charges: list[dict[str, Any]] = field(default_factory=list)
    charge_keys: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    customer_keys: list[str] = field(default_factory=list)
    router: Any = None  # the respx router: tests re-mock a route by name

    def verify(self, request: Any) -> Any:
        import httpx

        self.auth_headers.append(request.headers.get("authorization", ""))
        key = json.loads(request.content)["api_key"]
        if key not in self.keys:
            return httpx.Response(401, json={"error": "invalid api key"})
        return httpx.Response(200, json=self.keys[key])

    def customer(self, request: Any) -> Any:
        import httpx

        self.auth_headers.append(request.headers.get("authorization", ""))
        body = json.loads(request.content)
        self.customers.append(body)
        self.customer_keys.append(request.headers.get("idempotency-key", ""))
        return httpx.Response(
            200,
            json={
                "id": f"cus_new_{len(self.customers)}",
                "email": body["email"],
                "subscription": {"status": "trialing", "plan": body["plan"]},
                "trialEndsAt": "2030-01-31T00:00:00Z",
            },
        )

    def charge(self, request: Any) -> Any:
        import httpx

        body = json.loads(request.content)
        self.charges.append(body)
        self.charge_keys.append(request.headers.get("idempotency-key", ""))
        if body["customer_id"] in self.decline:
            return httpx.Response(402, json={"error": {"message": "card declined"}})
        return httpx.Response(200, json={"id": f"ch_{len(self.charges)}", "status": "succeeded"})


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    import respx

    fake = FakeProvider()
    with respx.mock(base_url=PROVIDER_BASE, assert_all_called=False) as mock:
        mock.post("/v1/verify").mock(side_effect=fake.verify)
        mock.post("/v1/charges").mock(side_effect=fake.charge)
        mock.post("/v1/customers", name="customers").mock(side_effect=fake.customer)
        fake.router = mock
        yield fake


def provider_headers(payload: bytes, *, secret: str = PROVIDER_WEBHOOK_SECRET) -> dict[str, str]:
    """The provider's own (``plain``) signature: hex HMAC-SHA256 of the raw body."""
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return {"HTTP_CVT_SIGNATURE": mac}


def provider_timestamped_headers(
    payload: bytes, *, secret: str = PROVIDER_WEBHOOK_SECRET, at: int | None = None
) -> dict[str, str]:
    """The ``timestamped`` scheme: hex HMAC-SHA256 of ``"<timestamp>.<raw body>"``."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"HTTP_CVT_SIGNATURE": mac, "HTTP_CVT_TIMESTAMP": str(timestamp)}
