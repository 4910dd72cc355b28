"""Opt-outs per channel, keyed by the blind index of the recipient's address."""

import unicodedata
from collections.abc import Iterable

from django.core import signing
from django.db import transaction

from careos.actors import Actor
from engagement.models import Channel, OptOut
from engagement.models.messages import recipient_blind_index
from rbac.models import User, email_blind_index, phone_blind_index
from rbac.services import audit_record

# Compared after upper-casing and stripping accents ("ARRÊT" → "ARRET").
# en (Twilio's standard set), es ("ALTO" is Spanish for "stop"), fr.
STOP_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
    | {"BAJA", "ALTO", "PARAR"}
    | {"ARRET", "DESABONNER"}
)
START_KEYWORDS = frozenset({"START", "UNSTOP", "YES", "ALTA", "REPRENDRE"})

UNSUBSCRIBE_SALT = "engagement.unsubscribe"


def normalize_keyword(text: str) -> str:
    words = text.strip().split()
    if not words:
        return ""
    decomposed = unicodedata.normalize("NFKD", words[0])
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.upper().strip(".!")


def address_for(*, channel: str, user: User) -> str:
    """The address of ``user`` on ``channel`` ('' when the user has none)."""
    if channel == Channel.SMS:
        return user.phone or ""
    if channel == Channel.EMAIL:
        return user.email or ""
    return user.public_id


def opted_out_indexes(*, channel: str, indexes: Iterable[str]) -> set[str]:
    return set(
        OptOut.objects.filter(channel=channel, recipient_index__in=list(indexes)).values_list(
            "recipient_index", flat=True
        )
    )


def is_opted_out(*, channel: str, address: str) -> bool:
    return OptOut.objects.filter(
        channel=channel, recipient_index=recipient_blind_index(address)
    ).exists()


@transaction.atomic
def optout_record(
    *,
    channel: str,
    address: str,
    source: str,
    actor: Actor | User,
    user: User | None = None,
    keyword: str = "",
) -> OptOut:
    """Record that ``address`` refuses ``channel`` (idempotent)."""
    index = recipient_blind_index(address)
    if user is None:
        user = _user_for(channel=channel, address=address)
    optout, created = OptOut.objects.get_or_create(
        recipient_index=index,
        channel=channel,
        defaults={"user": user, "source": source, "keyword": keyword[:32]},
    )
    if created:
        audit_record(
            actor=actor,
            action="engagement.optout.recorded",
            target_type="engagement.optout",
            target_ref=optout.public_id,
            patient=user,
            metadata={"channel": channel, "source": source},
        )
    return optout


@transaction.atomic
def optout_lift(*, channel: str, address: str, actor: Actor | User, source: str) -> bool:
    """Remove the opt-out of ``address`` on ``channel``; True when there was one."""
    optout = OptOut.objects.filter(
        recipient_index=recipient_blind_index(address), channel=channel
    ).first()
    if optout is None:
        return False
    audit_record(
        actor=actor,
        action="engagement.optout.lifted",
        target_type="engagement.optout",
        target_ref=optout.public_id,
        patient=optout.user,
        metadata={"channel": channel, "source": source},
    )
    optout.delete()
    return True


def _user_for(*, channel: str, address: str) -> User | None:
    if channel == Channel.SMS:
        return User.objects.filter(phone_index=phone_blind_index(address)).first()
    if channel == Channel.EMAIL:
        return User.objects.filter(email_index=email_blind_index(address)).first()
    return User.objects.filter(public_id=address).first()


def sms_keyword_apply(*, from_number: str, body: str, actor: Actor) -> str | None:
    """Apply an inbound SMS keyword: 'stop', 'start', or None when the text is not one."""
    keyword = normalize_keyword(body)
    if keyword in STOP_KEYWORDS:
        optout_record(
            channel=Channel.SMS,
            address=from_number,
            source=OptOut.Source.SMS_KEYWORD,
            actor=actor,
            keyword=keyword,
        )
        return "stop"
    if keyword in START_KEYWORDS:
        optout_lift(channel=Channel.SMS, address=from_number, actor=actor, source="sms_keyword")
        return "start"
    return None


def unsubscribe_token(*, channel: str, address: str) -> str:
    return signing.dumps(
        {"r": recipient_blind_index(address), "c": channel}, salt=UNSUBSCRIBE_SALT, compress=True
    )


class BadUnsubscribeToken(Exception):
    pass


@transaction.atomic
def optout_from_token(*, token: str, actor: Actor) -> OptOut:
    """Record the opt-out a signed unsubscribe link stands for."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        index, channel = str(data["r"]), str(data["c"])
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise BadUnsubscribeToken from exc
    if channel not in Channel.values:
        raise BadUnsubscribeToken
    optout, created = OptOut.objects.get_or_create(
        recipient_index=index,
        channel=channel,
        defaults={"source": OptOut.Source.EMAIL_LINK},
    )
    if created:
        audit_record(
            actor=actor,
            action="engagement.optout.recorded",
            target_type="engagement.optout",
            target_ref=optout.public_id,
            metadata={"channel": channel, "source": "email_link"},
        )
    return optout
