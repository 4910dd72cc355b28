"""Concurrent refunds against real PostgreSQL row locks (skipped on SQLite locally)."""

import threading

import pytest
from django.db import connection

from careos.actors import system_actor
from careos.errors import DomainError
from payments.models import Payment, Refund
from payments.services.refunds import refund_create
from tests.infra import require_postgresql


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_payment(paid_booking, fake_stripe):
    require_postgresql()
    _, payment = paid_booking()
    share = payment.amount // 2 + 1  # two of these cannot both fit
    results: list[str] = []
    barrier = threading.Barrier(2)

    def refund() -> None:
        try:
            barrier.wait()
            refund_create(
                payment=payment, amount=share, reason="duplicate", actor=system_actor("t")
            )
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["ok", "refund_exceeds_refundable"]
    assert Payment.objects.get(pk=payment.pk).amount_refunded == share
    assert Refund.objects.count() == 1
    assert len(fake_stripe.posts("/v1/refunds")) == 1
