"""Bookings are priced by the server from the clinic's catalogue: amounts in a request are
refused, a price change does not touch an existing booking, discount codes keep their limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import Booking, DiscountCode
from payments.services.catalogue import price_set
from tests.payments.catalogue import CATALOGUE_TOTAL, service_make

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/bookings"


def _body(clinic, catalogue, **fields):
    return {
        "clinicId": clinic.public_id,
        "startsAt": (timezone.now() + timedelta(days=3)).isoformat(),
        "items": [
            {"serviceId": catalogue.consultation.public_id},
            {"serviceId": catalogue.blood_test.public_id, "quantity": 2},
        ],
        "discountCode": "FIRSTVISIT",
        **fields,
    }


def test_the_one_cent_booking_is_refused(api_client, patient, clinic, catalogue, fake_stripe):
    api_client.force_authenticate(patient)
    probe = {
        "clinicId": clinic.public_id,
        "service": "Consultation",
        "startsAt": (timezone.now() + timedelta(days=3)).isoformat(),
        "currency": "usd",
        "lineItems": [{"kind": "service", "description": "Consultation", "unitAmount": 1}],
    }
    response = api_client.post(URL, probe, format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "amount_not_allowed"
    assert response.json()["field"] == "lineItems"
    assert not Booking.objects.exists() and not fake_stripe.calls


@pytest.mark.parametrize(
    "extra",
    [
        {"amount": 1},
        {"totalAmount": 1},
        {"items": [{"serviceId": "svc_x", "quantity": 1, "unitAmount": 1}]},
        {"items": [{"serviceId": "svc_x", "price": 1}]},
    ],
)
def test_any_amount_anywhere_in_the_body_is_refused(
    api_client, patient, clinic, catalogue, fake_stripe, extra
):
    api_client.force_authenticate(patient)
    response = api_client.post(URL, {**_body(clinic, catalogue), **extra}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "amount_not_allowed"
    assert not Booking.objects.exists()


def test_the_total_is_the_catalogues_computation(
    api_client, patient, clinic, catalogue, fake_stripe
):
    api_client.force_authenticate(patient)
    response = api_client.post(URL, _body(clinic, catalogue), format="json")

    assert response.status_code == 201, response.content
    booking = response.json()["booking"]
    assert booking["totalAmount"] == CATALOGUE_TOTAL == 14400
    assert booking["currency"] == "USD" and booking["discountCode"] == "FIRSTVISIT"
    lines = [
        (li["kind"], li["description"], li["quantity"], li["unitAmount"], li["amount"])
        for li in booking["lineItems"]
    ]
    assert lines == [
        ("service", "Consultation", 1, 10000, 10000),
        ("procedure", "Blood test", 2, 2500, 5000),
        ("discount", "Discount FIRSTVISIT", 1, 1500, -1500),
        ("tax", "Sales tax (10%)", 1, 900, 900),
    ]
    consultation, blood = booking["lineItems"][:2]
    assert (consultation["discountAmount"], consultation["taxAmount"]) == (1000, 900)
    assert consultation["taxRate"] == "10.0000"
    assert (blood["discountAmount"], blood["taxAmount"], blood["taxRate"]) == (500, 0, None)
    assert consultation["serviceId"] == catalogue.consultation.public_id
    [intent] = fake_stripe.posts("/v1/payment_intents")
    assert intent["amount"] == ["14400"]
    assert DiscountCode.objects.get().times_redeemed == 1


def test_a_price_change_after_booking_does_not_change_it(
    api_client, patient, clinic, catalogue, fake_stripe, actor
):
    api_client.force_authenticate(patient)
    first = api_client.post(URL, _body(clinic, catalogue), format="json").json()["booking"]

    price_set(service=catalogue.consultation, amount=20000, currency="USD", actor=actor)

    again = api_client.get(f"{URL}/{first['id']}").json()
    assert again["totalAmount"] == 14400 and again["lineItems"][0]["unitAmount"] == 10000
    paid = api_client.post(f"{URL}/{first['id']}/pay")
    assert paid.json()["booking"]["payments"][0]["amount"] == 14400
    second = api_client.post(URL, _body(clinic, catalogue), format="json").json()["booking"]
    # 20000 + 5000 - 1500 (shared 1200/300) + 10% of 18800.
    assert second["totalAmount"] == 20000 + 5000 - 1500 + 1880
    assert catalogue.consultation.prices.count() == 2


def test_unknown_inactive_or_foreign_services_are_404(
    api_client, patient, clinic, catalogue, fake_stripe, actor
):
    from rbac.services import clinic_create

    other = clinic_create(
        name="Other", slug="other", timezone="UTC", languages=["en"], regions=[], actor=actor
    )
    foreign = service_make(
        clinic=other, code="x", name="X", category="consultation", amount=100, actor=actor
    )
    catalogue.blood_test.is_active = False
    catalogue.blood_test.save()
    api_client.force_authenticate(patient)
    for service_id in ("svc_nope", foreign.public_id, catalogue.blood_test.public_id):
        body = _body(clinic, catalogue, items=[{"serviceId": service_id}])
        response = api_client.post(URL, body, format="json")
        assert response.status_code == 404 and response.json()["code"] == "service_not_found"
    assert not Booking.objects.exists()
    assert DiscountCode.objects.get(code="FIRSTVISIT").times_redeemed == 0


def test_a_service_without_a_price_in_the_tier_is_409(
    api_client, patient, clinic, catalogue, fake_stripe
):
    api_client.force_authenticate(patient)
    response = api_client.post(URL, _body(clinic, catalogue, priceTier="self-pay"), format="json")
    assert response.status_code == 409 and response.json()["code"] == "price_not_available"


def test_a_tier_has_its_own_price(api_client, patient, clinic, catalogue, fake_stripe, actor):
    for service, amount in ((catalogue.consultation, 8000), (catalogue.blood_test, 2000)):
        price_set(service=service, amount=amount, currency="USD", actor=actor, tier="self-pay")
    api_client.force_authenticate(patient)
    body = _body(clinic, catalogue, priceTier="self-pay", discountCode="")
    booking = api_client.post(URL, body, format="json").json()["booking"]
    assert booking["priceTier"] == "self-pay"
    assert booking["totalAmount"] == 8000 + 4000 + 800


def test_discount_code_limits_and_expiry(api_client, patient, clinic, catalogue, fake_stripe):
    DiscountCode.objects.create(
        clinic=clinic, code="ONCE", kind="percent", percent=10, max_redemptions=1
    )
    DiscountCode.objects.create(
        clinic=clinic,
        code="OLD",
        kind="percent",
        percent=10,
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    DiscountCode.objects.create(
        clinic=clinic, code="EUROS", kind="fixed", amount=100, currency="EUR"
    )
    api_client.force_authenticate(patient)

    def book(code):
        return api_client.post(URL, _body(clinic, catalogue, discountCode=code), format="json")

    assert book("once").status_code == 201
    assert book("ONCE").json()["code"] == "discount_code_exhausted"
    assert book("OLD").json()["code"] == "discount_code_expired"
    assert book("EUROS").json()["code"] == "discount_code_invalid"
    assert book("NOPE").json()["code"] == "discount_code_invalid"
    assert Booking.objects.count() == 1
    assert DiscountCode.objects.get(code="ONCE").times_redeemed == 1


def test_the_catalogue_lists_services_in_the_patients_language(
    api_client, patient, clinic, catalogue
):
    catalogue.blood_test.is_active = False
    catalogue.blood_test.save()
    api_client.force_authenticate(patient)
    url = f"/api/v1/payments/clinics/{clinic.public_id}/services"

    response = api_client.get(url, HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 200
    [service] = response.json()["results"]
    assert service["id"] == catalogue.consultation.public_id
    assert service["name"] == "Consulta"
    assert service["price"]["amount"] == 10000 and service["price"]["currency"] == "USD"
    assert api_client.get(url, {"tier": "self-pay"}).json()["results"][0]["price"] is None
    assert api_client.get("/api/v1/payments/clinics/cln_nope/services").status_code == 404
