"""Small helpers shared by the payments services."""

from datetime import date
from typing import Any

from careos.actors import Actor
from careos.errors import DomainError
from partners.models import Partner
from partners.services.events import publish_event
from rbac.models import User
from rbac.services import actor_for_user


class InvalidAmountError(DomainError):
    code = "invalid_amount"
    status = 400
    title = "The amount is invalid"


def as_actor(actor: Actor | User) -> Actor:
    return actor if isinstance(actor, Actor) else actor_for_user(actor)


def actor_label(actor: Actor | User) -> str:
    return str(as_actor(actor))[:200]


def currency_clean(currency: str) -> str:
    value = (currency or "").strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise DomainError(
            "currency must be an ISO 4217 code such as USD.",
            code="invalid_currency",
            extra={"field": "currency"},
        )
    return value


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = day.replace(day=1)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def previous_month(day: date) -> date:
    first = day.replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def period_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def event_publish(
    *, event_type: str, owner: Partner | None, payload: dict[str, Any], key: str
) -> None:
    """Publish one of our events (an outbox row in the caller's transaction), once per key."""
    publish_event(event_type=event_type, owner=owner, payload=payload, idempotency_key=key)


def format_money(amount: int, currency: str) -> str:
    """``12345, "USD"`` → ``"123.45 USD"`` (two decimals; enough for the currencies we bill)."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}"
