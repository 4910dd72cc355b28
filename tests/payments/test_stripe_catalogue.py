"""The catalogue mirrored to Stripe Products and Prices (setting-selected, idempotent), with
Stripe faked at the HTTP boundary."""

import json
from urllib.parse import parse_qs

import pytest
import responses

from payments.models import CatalogueService, ServicePrice
from payments.services.catalogue import price_set
from payments.services.stripe_catalogue import stripe_catalogue_sync
from tests.payments.conftest import STRIPE_BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_products():
    calls: list[tuple[str, dict, str]] = []
    by_key: dict[str, dict] = {}

    def handle(request):
        path = request.path_url
        params = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        key = request.headers.get("Idempotency-Key", "")
        calls.append((path, params, key))
        if key not in by_key:
            if path == "/v1/products":
                by_key[key] = {"id": params["id"], "object": "product", "name": params["name"]}
            else:
                by_key[key] = {"id": f"price_{len(by_key)}", "object": "price", **params}
        return 200, {}, json.dumps(by_key[key])

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for path in ("/v1/products", "/v1/prices"):
            mock.add_callback(responses.POST, f"{STRIPE_BASE}{path}", callback=handle)
        yield calls


def test_off_by_default_nothing_is_sent(catalogue, stripe_products, settings):
    settings.PAYMENTS_STRIPE_CATALOGUE_SYNC = False
    assert stripe_catalogue_sync() == 0 and stripe_products == []


def test_products_and_prices_are_created_once(catalogue, stripe_products, settings):
    settings.PAYMENTS_STRIPE_CATALOGUE_SYNC = True

    assert stripe_catalogue_sync() == 4  # two products, two prices

    consultation = CatalogueService.objects.get(pk=catalogue.consultation.pk)
    assert consultation.stripe_product_id == consultation.public_id
    price = consultation.prices.get()
    products = [p for path, p, _ in stripe_products if path == "/v1/products"]
    prices = [(p, key) for path, p, key in stripe_products if path == "/v1/prices"]
    assert {p["name"] for p in products} == {"Consultation", "Blood test"}
    assert {
        "product": consultation.public_id,
        "unit_amount": "10000",
        "currency": "usd",
    }.items() <= next(p for p, _ in prices if p["unit_amount"] == "10000").items()
    assert (f"careos:price:{price.public_id}:price.create") in [key for _, key in prices]
    assert price.stripe_price_id.startswith("price_")

    assert stripe_catalogue_sync() == 0  # nothing left to mirror
    # A lost answer: the row is pending again; the retry reuses the key and gets the same price.
    ServicePrice.objects.filter(pk=price.pk).update(stripe_price_id="")
    assert stripe_catalogue_sync() == 1
    assert ServicePrice.objects.get(pk=price.pk).stripe_price_id == price.stripe_price_id


def test_a_new_price_is_mirrored_after_commit(
    catalogue, stripe_products, settings, actor, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_STRIPE_CATALOGUE_SYNC = True
    with django_capture_on_commit_callbacks(execute=True):
        new = price_set(service=catalogue.consultation, amount=12000, currency="USD", actor=actor)
    assert ServicePrice.objects.get(pk=new.pk).stripe_price_id
