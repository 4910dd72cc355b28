"""Mirror of the catalogue in Stripe (Products and Prices), so Stripe's dashboard names what
was sold. Off unless ``PAYMENTS_STRIPE_CATALOGUE_SYNC``; through the settings-selected Stripe
backend.

Idempotent: a service becomes the Product whose id is the service's public id, a price the
Price created with the key ``careos:price:<prc_…>:price.create``, so a retry (or two workers at
once) gets Stripe's first object back. The work is the rows still without a Stripe id: a new
price queues the sync after commit, and beat's sweep picks up whatever a broker outage left.
"""

import logging

from django.conf import settings

from careos.queueing import enqueue_on_commit
from payments.models import CatalogueService, ServicePrice
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway

logger = logging.getLogger(__name__)


def product_idempotency_key(service: CatalogueService) -> str:
    return f"careos:service:{service.public_id}:product.create"


def price_idempotency_key(price: ServicePrice) -> str:
    return f"careos:price:{price.public_id}:price.create"


def stripe_catalogue_enabled() -> bool:
    return bool(settings.PAYMENTS_STRIPE_CATALOGUE_SYNC)


def stripe_catalogue_sync_queue() -> None:
    """Queue a sync after the current transaction commits (when the mirror is on)."""
    if not stripe_catalogue_enabled():
        return
    from payments.tasks import sync_stripe_catalogue

    enqueue_on_commit(sync_stripe_catalogue.delay, what="stripe catalogue sync")


def _product(service: CatalogueService) -> str:
    if service.stripe_product_id:
        return service.stripe_product_id
    product_id = stripe_gateway().create_product(
        product_id=service.public_id,
        name=service.name_en,
        metadata={"clinic_id": service.clinic.public_id, "code": service.code},
        idempotency_key=product_idempotency_key(service),
    )
    CatalogueService.objects.filter(pk=service.pk).update(stripe_product_id=product_id)
    service.stripe_product_id = product_id
    return product_id


def stripe_catalogue_sync(*, limit: int = 500) -> int:
    """Create the missing Products and Prices in Stripe; returns how many objects were made.
    A provider error stops this run (the rows stay pending for the next one)."""
    if not stripe_catalogue_enabled():
        return 0
    made = 0
    try:
        for service in CatalogueService.objects.filter(stripe_product_id="").select_related(
            "clinic"
        )[:limit]:
            _product(service)
            made += 1
        for price in ServicePrice.objects.filter(stripe_price_id="").select_related(
            "service__clinic"
        )[:limit]:
            price_id = stripe_gateway().create_price(
                product=_product(price.service),
                unit_amount=price.amount,
                currency=price.currency,
                nickname=price.tier,
                metadata={"price_id": price.public_id, "service_id": price.service.public_id},
                idempotency_key=price_idempotency_key(price),
            )
            ServicePrice.objects.filter(pk=price.pk).update(stripe_price_id=price_id)
            made += 1
    except PaymentProviderError as exc:
        logger.warning("stripe catalogue sync stopped: %s (transient=%s)", exc.code, exc.transient)
    return made
