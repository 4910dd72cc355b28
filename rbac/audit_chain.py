"""Tamper evidence for the audit log: every event carries a keyed hash chained to the previous one.

Events fall into chains (a clinic's, else the acting partner's, else the platform's), so writers
for different clinics or partners never wait for each other. Within a chain each event has the
next sequence number (``chain_seq``, 1, 2, …), the previous event's hash (``prev_hash``; the
first event's is empty) and its own ``entry_hash``: HMAC-SHA256, keyed with ``AUDIT_CHAIN_KEY``,
of a canonical JSON of the event's columns, its place in the chain and ``prev_hash``.

Changing a column of a written event, deleting one or inserting one in the middle breaks the
chain at that event, and without the key nobody with only database access can rewrite the rest
of the chain to match. Deleting the newest events of a chain leaves a shorter valid chain: compare
the heads ``audit_verify`` prints with ones recorded earlier to notice that.

Writers of one chain take turns: a PostgreSQL advisory lock held until their transaction ends
(SQLite serialises writers anyway), then read the chain's head through the unique index on
``(chain, chain_seq)``, which also refuses a second event with the same number. An event
without a clinic joins the chain its transaction already writes to (``chain_next``).
"""

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection

# The columns an event's hash covers, read as ``.values()`` returns them.
HASHED_FIELDS = (
    "public_id",
    "occurred_at",
    "actor_kind",
    "actor_ref",
    "actor_label",
    "actor_user_id",
    "partner_ref",
    "action",
    "target_type",
    "target_ref",
    "patient_id",
    "clinic_id",
    "ip_address",
    "user_agent",
    "reason",
    "metadata",
    "chain",
    "chain_seq",
)
VERSION = 1
PLATFORM_CHAIN = "platform"
# The first number of pg_advisory_xact_lock(int, int): the audit chain's lock space.
_LOCK_SPACE = 0x41554454  # "AUDT"


def chain_name(*, clinic_id: int | None, partner_ref: str) -> str:
    """The chain an event joins: its clinic's, else the acting partner's, else the platform's."""
    if clinic_id is not None:
        return f"clinic:{clinic_id}"
    if partner_ref:
        return f"partner:{partner_ref}"
    return PLATFORM_CHAIN


def _canonical(value: Any) -> Any:
    """JSON values as they read back from either database: an integral float is an int
    (PostgreSQL's jsonb stores ``1e20`` as a numeric that reads back as an int)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _field_value(name: str, value: Any) -> Any:
    if name == "occurred_at" and isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name == "ip_address" and value:
        return str(ipaddress.ip_address(value))
    return _canonical(value)


def entry_hash(*, values: dict[str, Any], prev_hash: str) -> str:
    """The HMAC of one event: ``values`` holds every name of ``HASHED_FIELDS``."""
    payload = {name: _field_value(name, values[name]) for name in HASHED_FIELDS}
    payload.update(prev_hash=prev_hash, v=VERSION)
    message = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    key = settings.AUDIT_CHAIN_KEY.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


@dataclass
class _TransactionChains:
    """The chains the current transaction writes to and their heads (after its own events)."""

    # ``connection.run_on_commit`` of that transaction: Django replaces the list when the
    # transaction commits or rolls back, and when a savepoint rolls back, so an identity check
    # tells whether these heads are still this transaction's (and still in the database).
    marker: list[Any]
    heads: dict[str, tuple[int, str]]


def _transaction_chains() -> dict[str, tuple[int, str]]:
    state = getattr(connection, "_careos_audit_chains", None)
    if state is None or state.marker is not connection.run_on_commit:
        state = _TransactionChains(marker=connection.run_on_commit, heads={})
        connection._careos_audit_chains = state  # type: ignore[attr-defined]
    return state.heads


def chain_next(*, clinic_id: int | None, partner_ref: str) -> tuple[str, int, str]:
    """``(chain, number, previous hash)`` of the next event, inside a transaction; the chain's
    turn is held until the transaction ends. Call ``chain_advance`` once the event is written.

    An event without a clinic joins the chain its transaction already writes to, so that a
    transaction waits for no lock besides its clinics': two transactions auditing a clinic and
    the platform in opposite orders would otherwise wait for each other (a deadlock). A chain
    the transaction already wrote to costs no statement: its head is the transaction's own
    last event."""
    heads = _transaction_chains()
    chain = chain_name(clinic_id=clinic_id, partner_ref=partner_ref)
    if clinic_id is None and heads:
        chain = next(iter(heads))
    if chain not in heads:
        if connection.vendor == "postgresql":  # SQLite: one writer at a time (IMMEDIATE)
            digest = hashlib.blake2b(chain.encode(), digest_size=4).digest()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [_LOCK_SPACE, int.from_bytes(digest, "big", signed=True)],
                )
        from rbac.models import AuditEvent

        head = (
            AuditEvent.objects.filter(chain=chain)
            .order_by("-chain_seq")
            .values_list("chain_seq", "entry_hash")
            .first()
        )
        heads[chain] = head or (0, "")
    seq, prev = heads[chain]
    return chain, seq + 1, prev


def chain_advance(*, chain: str, chain_seq: int, entry_hash: str) -> None:
    """Record the event just written as its chain's head for the rest of the transaction."""
    _transaction_chains()[chain] = (chain_seq, entry_hash)


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    chain_seq: int
    public_id: str
    problem: str

    def __str__(self) -> str:
        return f"chain {self.chain}: event {self.public_id} (#{self.chain_seq}): {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    head_seq: int
    head_hash: str
    first_break: ChainBreak | None


def chain_check(chain: str, rows: Iterator[dict[str, Any]]) -> ChainReport:
    """Walk one chain's rows in ``chain_seq`` order (each with ``HASHED_FIELDS``, ``prev_hash``
    and ``entry_hash``) and find its first broken link."""
    expected_seq, prev, count, first_break = 1, "", 0, None
    for row in rows:
        count += 1
        seq = row["chain_seq"]
        problem = ""
        if seq != expected_seq:
            problem = (
                f"follows #{expected_seq - 1}: events #{expected_seq} to #{seq - 1} are missing"
            )
        elif row["prev_hash"] != prev:
            problem = "its link to the previous event does not match (an event was replaced)"
        elif not hmac.compare_digest(row["entry_hash"], entry_hash(values=row, prev_hash=prev)):
            problem = "its content changed after it was written (hash mismatch)"
        if problem and first_break is None:
            first_break = ChainBreak(chain, seq, row["public_id"], problem)
        expected_seq, prev = seq + 1, row["entry_hash"]
    return ChainReport(chain, count, expected_seq - 1, prev, first_break)


def audit_chains_verify(*, chain: str | None = None) -> list[ChainReport]:
    """Every chain (or the one named), walked from its first event to its head."""
    from rbac.models import AuditEvent

    events = AuditEvent.objects.all()
    if chain is not None:
        events = events.filter(chain=chain)
    chains = events.order_by("chain").values_list("chain", flat=True).distinct()
    fields = (*HASHED_FIELDS, "prev_hash", "entry_hash")
    return [
        chain_check(
            name,
            events.filter(chain=name).order_by("chain_seq").values(*fields).iterator(2000),
        )
        for name in chains
    ]
