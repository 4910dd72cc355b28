import itertools
import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from partners.models import ApiKey, Partner
from payments.models import BillingAccount, BillingCharge, BillingEvent
from payments.services.subscriptions import provider_key_hash, subscription_billing_run
from tests.payments.conftest import provider_headers, provider_timestamped_headers

pytestmark = pytest.mark.django_db

GOOD_KEY = "cvt_live_good_key_123"
_events = itertools.count(1)


@pytest.fixture
def registered(api_client, fake_provider):  # type: ignore[no-untyped-def]
    fake_provider.keys[GOOD_KEY] = {
        "id": "cus_100",
        "email": "owner@acme.test",
        "subscription": {"status": "active", "plan": "pro"},
    }
    response = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": GOOD_KEY, "businessName": "Acme Dental", "email": "owner@acme.test"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _webhook(api_client, event_type, data, *, event_id=None, created=None, sign=provider_headers):  # type: ignore[no-untyped-def]
    event = {
        "id": event_id or f"cvt_evt_{next(_events)}",
        "type": event_type,
        "created": created or int(time.time()),
        "data": data,
    }
    payload = json.dumps(event).encode()
    return api_client.post(
        "/api/v1/payments/billing-provider/webhook",
        data=payload,
        content_type="application/json",
        **sign(payload),
    )


def test_registration_creates_partner_account_and_key(registered, fake_provider, api_client):
    partner = Partner.objects.get(public_id=registered["business"]["id"])
    assert partner.partner_type == Partner.Type.BUSINESS_CUSTOMER
    assert partner.status == Partner.Status.ACTIVE and partner.slug == "acme-dental"
    account = BillingAccount.objects.get(partner=partner)
    assert account.provider_customer_id == "cus_100" and account.plan == "pro"
    assert account.provider_key == GOOD_KEY  # decrypts
    assert account.provider_key_hash == provider_key_hash(GOOD_KEY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT provider_key FROM payments_billingaccount")
        assert GOOD_KEY not in cursor.fetchone()[0]  # encrypted at rest
    assert registered["apiKey"] and ApiKey.objects.filter(partner=partner).count() == 1
    assert fake_provider.auth_headers == ["Bearer cvt-secret"]

    api_client.credentials(HTTP_X_API_KEY=registered["apiKey"])
    assert api_client.get("/api/v1/partners/me").status_code == 200

    api_client.credentials()
    again = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": GOOD_KEY, "businessName": "Acme 2", "email": "o@acme.test"},
        format="json",
    )
    assert again.status_code == 409
    assert Partner.objects.count() == 1


def test_registration_with_a_bad_provider_key_is_refused(api_client, fake_provider):
    response = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": "cvt_wrong", "businessName": "Nope", "email": "x@nope.test"},
        format="json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_provider_key"
    assert not Partner.objects.exists() and not BillingAccount.objects.exists()


def test_registration_validates_fields(api_client, fake_provider):
    response = api_client.post("/api/v1/business/register", {"email": "bad"}, format="json")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {
        "cvtApiKey",
        "businessName",
        "email",
    }


def test_canceled_subscription_suspends_then_reactivation_restores(registered, api_client):
    partner_client = type(api_client)()
    partner_client.credentials(HTTP_X_API_KEY=registered["apiKey"])
    assert partner_client.get("/api/v1/partners/me").status_code == 200

    ends_at = timezone.now() + timedelta(days=20)
    response = _webhook(
        api_client,
        "subscription.canceled",
        {"customer_id": "cus_100", "ends_at": ends_at.isoformat()},
    )
    assert response.status_code == 200 and response.json() == {"received": True}
    account = BillingAccount.objects.get()
    assert account.subscription_status == "canceled" and account.suspended_for_billing
    assert account.subscription_ends_at == ends_at
    denied = partner_client.get("/api/v1/partners/me")
    assert denied.status_code == 403 and denied.json()["code"] == "subscription_inactive"

    _webhook(
        api_client,
        "subscription.updated",
        {"customer_id": "cus_100", "status": "active", "plan": "enterprise"},
    )
    account.refresh_from_db()
    assert account.subscription_status == "active" and account.plan == "enterprise"
    assert not account.suspended_for_billing
    assert account.subscription_ends_at is None  # active again: the cancellation's end is void
    assert partner_client.get("/api/v1/partners/me").status_code == 200


def test_charge_failed_suspends_and_charge_succeeded_restores(registered, api_client):
    _webhook(
        api_client,
        "charge.failed",
        {
            "customer_id": "cus_100",
            "amount": 4999,
            "currency": "usd",
            "error_message": "card declined",
        },
    )
    assert Partner.objects.get().status == Partner.Status.SUSPENDED
    log = BillingEvent.objects.get(event_type="charge.failed")
    assert (log.amount, log.currency, log.error_message) == (4999, "USD", "card declined")
    _webhook(
        api_client,
        "charge.succeeded",
        {"customer_id": "cus_100", "amount": 4999, "currency": "usd"},
    )
    assert Partner.objects.get().status == Partner.Status.ACTIVE
    assert BillingAccount.objects.get().last_billed_at is not None


def test_operator_suspension_is_not_lifted_by_billing(registered, api_client, actor):
    from partners.services.lifecycle import partner_suspend

    partner_suspend(partner=Partner.objects.get(), reason="Abuse", actor=actor)
    _webhook(
        api_client, "charge.succeeded", {"customer_id": "cus_100", "amount": 1, "currency": "usd"}
    )
    assert Partner.objects.get().status == Partner.Status.SUSPENDED


def test_webhook_signature_timestamp_and_replay(registered, api_client, settings):
    settings.BILLING_PROVIDER_SIGNATURE_SCHEME = "timestamped"
    data = {"customer_id": "cus_100"}
    event = {
        "id": "cvt_evt_fixed",
        "type": "subscription.canceled",
        "created": int(time.time()),
        "data": data,
    }
    payload = json.dumps(event).encode()
    bad = api_client.post(
        "/api/v1/payments/billing-provider/webhook",
        data=payload,
        content_type="application/json",
        **provider_timestamped_headers(payload, secret="not-the-secret"),
    )
    old = api_client.post(
        "/api/v1/payments/billing-provider/webhook",
        data=payload,
        content_type="application/json",
        **provider_timestamped_headers(payload, at=int(time.time()) - 600),
    )
    plain = api_client.post(  # the provider's plain signature is not enough here
        "/api/v1/payments/billing-provider/webhook",
        data=payload,
        content_type="application/json",
        **provider_headers(payload),
    )
    assert bad.status_code == old.status_code == plain.status_code == 401
    assert (
        not BillingEvent.objects.exists() and Partner.objects.get().status == Partner.Status.ACTIVE
    )

    # The same event id twice: applied once. A reactivation in between is not undone by the replay.
    assert (
        _webhook(
            api_client,
            "subscription.canceled",
            data,
            event_id="cvt_evt_fixed",
            sign=provider_timestamped_headers,
        ).status_code
        == 200
    )
    _webhook(
        api_client,
        "subscription.updated",
        {"customer_id": "cus_100", "status": "active"},
        sign=provider_timestamped_headers,
    )
    assert (
        _webhook(
            api_client,
            "subscription.canceled",
            data,
            event_id="cvt_evt_fixed",
            sign=provider_timestamped_headers,
        ).status_code
        == 200
    )
    assert BillingEvent.objects.filter(provider_event_id="cvt_evt_fixed").count() == 1
    assert BillingAccount.objects.get().subscription_status == "active"


def test_out_of_order_provider_events(registered, api_client):
    now = int(time.time())
    _webhook(
        api_client,
        "subscription.updated",
        {"customer_id": "cus_100", "status": "active"},
        created=now,
    )
    _webhook(api_client, "charge.failed", {"customer_id": "cus_100"}, created=now - 100)  # older
    assert BillingAccount.objects.get().subscription_status == "active"
    assert Partner.objects.get().status == Partner.Status.ACTIVE
    assert BillingEvent.objects.count() == 2  # both logged


def test_billing_job_run_twice_charges_once(registered, fake_provider, api_client):
    fake_provider.keys["cvt_second"] = {"id": "cus_200", "subscription": {"status": "active"}}
    api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": "cvt_second", "businessName": "Beta Clinic", "email": "b@beta.test"},
        format="json",
    )
    fake_provider.decline.add("cus_200")

    first = subscription_billing_run()
    second = subscription_billing_run()

    assert len(first.succeeded) == 1 and len(first.failed) == 1
    assert second.succeeded == second.failed == []
    assert sorted((c["customer_id"], c["amount"]) for c in fake_provider.charges) == [
        ("cus_100", 4999),
        ("cus_200", 2999),
    ]
    assert len(set(fake_provider.charge_keys)) == 2
    charges = dict(BillingCharge.objects.values_list("account__provider_customer_id", "status"))
    assert charges == {"cus_100": "succeeded", "cus_200": "failed"}
    declined = BillingAccount.objects.get(provider_customer_id="cus_200")
    assert declined.subscription_status == "past_due"
    assert declined.partner.status == Partner.Status.SUSPENDED
    assert BillingEvent.objects.filter(event_type="charge.attempted").count() == 2


def test_console_backend_registers_test_keys_without_network(settings, api_client):
    settings.BILLING_PROVIDER_BACKEND = "console"
    ok = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": "cvt_test_local", "businessName": "Local Co", "email": "l@local.test"},
        format="json",
    )
    bad = api_client.post(
        "/api/v1/business/register",
        {"cvtApiKey": "cvt_live_x", "businessName": "Local Co", "email": "l@local.test"},
        format="json",
    )
    assert ok.status_code == 201 and bad.status_code == 401
    assert subscription_billing_run().succeeded == [BillingAccount.objects.get().public_id]
