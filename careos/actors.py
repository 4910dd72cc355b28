"""Who did something: a user, a partner credential, or a system job. Services take an ``Actor``."""

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "partner", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    ref: str  # public id of the user or credential (``usr_…``, ``key_…``), or the job's name
    label: str = ""
    user_id: int | None = None
    partner_ref: str = ""  # ``ptr_…`` when the actor acts for a partner
    # A partner credential's scopes: what it may grant to credentials it mints. ``None`` for
    # users and jobs (their grants are checked by rbac and the partner's tier).
    scopes: frozenset[str] | None = None

    def __str__(self) -> str:
        return self.label or self.ref


def system_actor(job: str) -> Actor:
    return Actor(kind="system", ref=f"system:{job}", label=job)
