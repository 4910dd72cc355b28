"""The billing-provider integration guide (``seeds/business-billing-provider.md``), request by
request. Each request is sent byte for byte as the guide's code sends it (``JSON.stringify``
bodies, its header names), with only the placeholders filled in (keys, ids, the secret), and
must succeed with the answer the guide's code expects. The provider's own API is faked at the
HTTP boundary, answering as the guide's ``lib/cvt`` client expects."""

import hashlib
import hmac
import json
from datetime import UTC, timedelta

import httpx
import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from partners.models import Partner
from payments.models import BillingAccount, BillingCharge, BillingEvent
from payments.services.subscriptions import subscription_billing_run
from tests.payments.conftest import PROVIDER_WEBHOOK_SECRET

pytestmark = pytest.mark.django_db

REGISTER = "/api/business/register"  # app/api/business/register/route.ts
WEBHOOK = "/api/webhooks/cvt"  # app/api/webhooks/cvt/route.ts
CVT_API_KEY = "cvt_live_9d2f7b1c4a"  # placeholder: the key the owner got from the CVT dashboard
CUSTOMER = "cus_tangabiz_1"  # placeholder: the provider's customer id for that key

# The registration page's request: JSON.stringify({ cvtApiKey, businessName, email }).
REGISTER_BODY = (
    b'{"cvtApiKey":"cvt_live_9d2f7b1c4a","businessName":"Tangabiz Traders",'
    b'"email":"owner@tangabiz.test"}'
)
# The provider's events, with the fields the guide's handlers read from event.data.
CHARGE_SUCCEEDED = (
    b'{"id":"evt_1001","type":"charge.succeeded",'
    b'"data":{"customer_id":"cus_tangabiz_1","amount":2999,"currency":"USD"}}'
)
CHARGE_FAILED = (
    b'{"id":"evt_1002","type":"charge.failed","data":{"customer_id":"cus_tangabiz_1",'
    b'"amount":2999,"currency":"USD","error_message":"Your card was declined."}}'
)
SUBSCRIPTION_UPDATED = (
    b'{"id":"evt_1003","type":"subscription.updated",'
    b'"data":{"customer_id":"cus_tangabiz_1","status":"active","plan":"pro"}}'
)


def subscription_canceled(ends_at: str) -> bytes:
    # ends_at as the provider's JavaScript writes a Date: toISOString(), e.g. "…T00:00:00.000Z".
    return (
        b'{"id":"evt_1004","type":"subscription.canceled",'
        b'"data":{"customer_id":"cus_tangabiz_1","ends_at":"' + ends_at.encode() + b'"}}'
    )


def js_iso(when) -> str:  # type: ignore[no-untyped-def]
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )


def cvt_signature(body: bytes) -> str:
    """lib/cvt verifyWebhookSignature: createHmac('sha256', CVT_WEBHOOK_SECRET)
    .update(payload).digest('hex')."""
    return hmac.new(PROVIDER_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def provider(fake_provider):  # type: ignore[no-untyped-def]
    """verifyCVTApiKey answers the customer the guide's route reads: id, subscription?.status,
    subscription?.plan, trialEndsAt."""
    fake_provider.keys[CVT_API_KEY] = {
        "id": CUSTOMER,
        "subscription": {"status": "active", "plan": "basic"},
        "trialEndsAt": None,
    }
    return fake_provider


def register(api_client, body: bytes = REGISTER_BODY, **headers: str):  # type: ignore[no-untyped-def]
    return api_client.post(REGISTER, data=body, content_type="application/json", **headers)


def deliver(api_client, body: bytes):  # type: ignore[no-untyped-def]
    """The provider's POST: the raw body and its cvt-signature header."""
    return api_client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_CVT_SIGNATURE=cvt_signature(body)
    )


@pytest.fixture
def business(api_client, provider):  # type: ignore[no-untyped-def]
    response = register(api_client)
    assert response.status_code == 201, response.content
    return response.json()


def business_client(api_client_class, api_key: str):  # type: ignore[no-untyped-def]
    client = api_client_class()
    client.credentials(HTTP_X_API_KEY=api_key)  # lib/auth/api-key.ts: x-api-key
    return client


def test_registration_answers_what_the_guide_returns(api_client, provider):
    response = register(api_client)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"business", "apiKey"}
    assert set(body["business"]) == {"id", "name", "slug"}
    partner = Partner.objects.get()
    assert body["business"] == {
        "id": partner.public_id,
        "name": "Tangabiz Traders",
        "slug": "tangabiz-traders",
    }
    account = BillingAccount.objects.get()
    assert account.provider_customer_id == CUSTOMER and account.provider_key == CVT_API_KEY
    assert account.email == "owner@tangabiz.test"
    assert body["apiKey"].startswith("ck_live_")


def test_registration_asks_the_provider_as_the_guides_client_does(api_client, fake_provider):
    """lib/cvt/client.ts verifyAPIKey: POST {CVT_API_URL}/v1/verify, JSON, Bearer secret."""
    seen: list[httpx.Request] = []

    def verify(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": CUSTOMER, "subscription": {"status": "active"}})

    fake_provider.router.post("/v1/verify").mock(side_effect=verify)
    assert register(api_client).status_code == 201
    [request] = seen
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer cvt-secret"
    assert json.loads(request.content) == {"api_key": CVT_API_KEY}


def test_the_issued_key_opens_the_api_both_ways_the_guide_reads_it(api_client, business):
    x_api_key = type(api_client)()
    x_api_key.credentials(HTTP_X_API_KEY=business["apiKey"])
    bearer = type(api_client)()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {business['apiKey']}")
    for client in (x_api_key, bearer):
        me = client.get("/api/v1/partners/me")
        assert me.status_code == 200, me.content
        assert me.json()["id"] == business["business"]["id"]


def test_each_provider_event_is_accepted_as_the_guide_handles_it(api_client, business):
    partner_client = business_client(type(api_client), business["apiKey"])
    account = BillingAccount.objects.get()
    ends_at = timezone.now() + timedelta(days=30)

    succeeded = deliver(api_client, CHARGE_SUCCEEDED)
    assert succeeded.status_code == 200 and succeeded.json() == {"received": True}
    account.refresh_from_db()
    assert account.subscription_status == "active" and account.last_billed_at is not None
    log = BillingEvent.objects.get(provider_event_id="evt_1001")
    assert (log.event_type, log.amount, log.currency) == ("charge.succeeded", 2999, "USD")

    failed = deliver(api_client, CHARGE_FAILED)
    assert failed.status_code == 200 and failed.json() == {"received": True}
    account.refresh_from_db()
    assert account.subscription_status == "past_due"
    assert BillingEvent.objects.get(provider_event_id="evt_1002").error_message == (
        "Your card was declined."
    )
    denied = partner_client.get("/api/v1/partners/me")
    assert denied.status_code == 403 and denied["Content-Type"] == "application/problem+json"
    assert denied.json()["code"] == "subscription_inactive"

    updated = deliver(api_client, SUBSCRIPTION_UPDATED)
    assert updated.status_code == 200 and updated.json() == {"received": True}
    account.refresh_from_db()
    assert (account.subscription_status, account.plan) == ("active", "pro")
    assert partner_client.get("/api/v1/partners/me").status_code == 200

    canceled = deliver(api_client, subscription_canceled(js_iso(ends_at)))
    assert canceled.status_code == 200 and canceled.json() == {"received": True}
    account.refresh_from_db()
    assert account.subscription_status == "canceled"
    assert account.subscription_ends_at == ends_at.replace(
        microsecond=ends_at.microsecond // 1000 * 1000
    )
    assert partner_client.get("/api/v1/partners/me").json()["code"] == "subscription_inactive"


def test_the_versioned_path_takes_the_same_requests(api_client, business):
    response = api_client.post(
        "/api/v1/payments/billing-provider/webhook",
        data=CHARGE_FAILED,
        content_type="application/json",
        HTTP_CVT_SIGNATURE=cvt_signature(CHARGE_FAILED),
    )
    assert response.status_code == 200 and response.json() == {"received": True}
    assert BillingAccount.objects.get().subscription_status == "past_due"
    again = deliver(api_client, CHARGE_FAILED)  # the same event at the guide's path
    assert again.status_code == 200
    assert BillingEvent.objects.filter(provider_event_id="evt_1002").count() == 1


def test_a_forged_event_is_refused_as_the_guide_refuses_it(api_client, business):
    forged = CHARGE_FAILED.replace(b"2999", b"1")
    response = api_client.post(
        WEBHOOK,
        data=forged,
        content_type="application/json",
        HTTP_CVT_SIGNATURE=cvt_signature(CHARGE_FAILED),
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_signature"
    assert BillingAccount.objects.get().subscription_status == "active"


# --- subscriptionEndsAt (lib/auth/api-key.ts: "Check subscription expiration") ---------------


def test_api_access_ends_when_the_subscription_ends(api_client, business):
    partner_client = business_client(type(api_client), business["apiKey"])
    ends_at = timezone.now() + timedelta(days=3)
    ending = (
        b'{"id":"evt_2001","type":"subscription.updated","data":{"customer_id":"cus_tangabiz_1",'
        b'"status":"active","ends_at":"' + js_iso(ends_at).encode() + b'"}}'
    )
    assert deliver(api_client, ending).status_code == 200
    assert partner_client.get("/api/v1/partners/me").status_code == 200
    assert partner_client.get("/api/v1/partners/me").status_code == 200  # cached credential

    with time_machine.travel(ends_at - timedelta(seconds=5), tick=False):
        assert partner_client.get("/api/v1/partners/me").status_code == 200
    with time_machine.travel(ends_at + timedelta(seconds=1), tick=False):
        denied = partner_client.get("/api/v1/partners/me")
        assert denied.status_code == 403
        assert denied["Content-Type"] == "application/problem+json"
        problem = denied.json()
        assert problem["code"] == "subscription_inactive" and problem["status"] == 403
        # Still an active subscription on paper: the end date alone closes access.
        assert BillingAccount.objects.get().subscription_status == "active"
        assert Partner.objects.get().status == Partner.Status.ACTIVE

        renewed = (
            b'{"id":"evt_2002","type":"subscription.updated","data":{"customer_id":'
            b'"cus_tangabiz_1","status":"active","ends_at":"'
            + js_iso(ends_at + timedelta(days=30)).encode()
            + b'"}}'
        )
        assert deliver(api_client, renewed).status_code == 200
        assert partner_client.get("/api/v1/partners/me").status_code == 200


def test_a_subscription_already_ended_closes_access_at_once(api_client, business):
    partner_client = business_client(type(api_client), business["apiKey"])
    ended = (
        b'{"id":"evt_2003","type":"subscription.updated","data":{"customer_id":"cus_tangabiz_1",'
        b'"status":"active","ends_at":"'
        + js_iso(timezone.now() - timedelta(minutes=1)).encode()
        + b'"}}'
    )
    assert deliver(api_client, ended).status_code == 200
    assert partner_client.get("/api/v1/partners/me").json()["code"] == "subscription_inactive"


def test_other_partners_are_not_subject_to_subscriptions(partner_api_client, api_client, business):
    referral_partner = partner_api_client()
    ended = (
        b'{"id":"evt_2004","type":"subscription.updated","data":{"customer_id":"cus_tangabiz_1",'
        b'"status":"active","ends_at":"'
        + js_iso(timezone.now() - timedelta(minutes=1)).encode()
        + b'"}}'
    )
    assert deliver(api_client, ended).status_code == 200
    assert referral_partner.get("/api/v1/partners/me").status_code == 200


def test_an_unusable_end_date_is_a_clear_problem_or_ignored_never_a_server_error(
    api_client, business
):
    """A time no datetime can hold is refused naming the field (nothing applied); a value that
    is not a time at all is ignored, and the status change still applies."""
    partner_client = business_client(type(api_client), business["apiKey"])
    cases = [
        (b'"2026-02-30T00:00:00Z"', 400),
        (b"1e300", 400),
        (b'"soon"', 200),
        (b"true", 200),
    ]
    for n, (value, expected) in enumerate(cases):
        body = (
            b'{"id":"evt_30%d","type":"subscription.updated","data":{"customer_id":'
            b'"cus_tangabiz_1","status":"active","ends_at":' % n + value + b"}}"
        )
        response = deliver(api_client, body)
        assert response.status_code == expected, value
        if expected == 400:
            assert response.json()["code"] == "invalid_event"
            assert response.json()["field"] == "data.ends_at"
    assert BillingAccount.objects.get().subscription_ends_at is None
    assert partner_client.get("/api/v1/partners/me").status_code == 200


# --- charge.failed: "TODO: Send notification to business owner" ------------------------------


def test_a_failed_charge_emails_the_business_once(
    api_client, business, actor, django_capture_on_commit_callbacks
):
    from partners.services.profile import contact_create

    partner = Partner.objects.get()
    for role, email in (
        ("billing", "accounts@tangabiz.test"),
        ("primary", "Owner@Tangabiz.test"),  # the registration email again: one email
        ("technical", "dev@tangabiz.test"),  # not told about billing
    ):
        contact_create(partner=partner, name=role, email=email, role=role, actor=actor)
    mail.outbox.clear()

    for _ in range(2):  # the event, then the provider's retry of it
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(api_client, CHARGE_FAILED).status_code == 200

    assert sorted(m.to[0] for m in mail.outbox) == [
        "accounts@tangabiz.test",
        "owner@tangabiz.test",
    ]
    email = mail.outbox[0]
    assert email.subject == "Payment failed for Tangabiz Traders"
    assert "29.99 USD" in email.body and "Your card was declined." in email.body
    assert "API access is suspended" in email.body
    html = email.alternatives[0][0] if email.alternatives else ""
    assert "Your card was declined." in html


def test_the_failed_charge_email_is_in_the_registering_browsers_language(
    api_client, provider, django_capture_on_commit_callbacks
):
    response = register(api_client, HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert response.status_code == 201
    assert BillingAccount.objects.get().language == "es"
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api_client, CHARGE_FAILED).status_code == 200

    [email] = mail.outbox
    assert email.subject == "Pago fallido de Tangabiz Traders"
    assert "El acceso a la API queda suspendido" in email.body


def test_an_older_failure_after_a_success_sends_nothing(
    api_client, business, django_capture_on_commit_callbacks
):
    now = int(timezone.now().timestamp())
    succeeded = (
        b'{"id":"evt_4001","type":"charge.succeeded","created":%d,"data":{"customer_id":'
        b'"cus_tangabiz_1","amount":2999,"currency":"USD"}}' % now
    )
    stale_failure = (
        b'{"id":"evt_4002","type":"charge.failed","created":%d,"data":{"customer_id":'
        b'"cus_tangabiz_1","amount":2999,"currency":"USD"}}' % (now - 600)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api_client, succeeded).status_code == 200
        assert deliver(api_client, stale_failure).status_code == 200
    assert mail.outbox == []
    assert BillingAccount.objects.get().subscription_status == "active"


# --- lib/cvt/client.ts chargeCustomer and the monthly run (beat, not app/api/cron) -----------


def test_the_monthly_charge_is_the_request_the_guide_sends(api_client, business, provider):
    report = subscription_billing_run()

    assert len(report.succeeded) == 1
    [charge] = provider.charges
    assert set(charge) == {"customer_id", "amount", "currency", "description"}
    assert (charge["customer_id"], charge["amount"], charge["currency"]) == (CUSTOMER, 2999, "USD")
    assert BillingCharge.objects.get().status == BillingCharge.Status.SUCCEEDED
