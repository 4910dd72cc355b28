"""Queueing Celery tasks after a commit without ever failing the caller.

The work behind every task queued this way is already in the database (a row in a status a
beat sweep looks for), so a publish that fails (the broker is down: the Celery settings make
that fail fast) is logged and left to the sweep rather than turned into an error for a request
or a task whose transaction has already committed.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

logger = logging.getLogger("careos.queueing")


def enqueue_or_log(send: Callable[[], object], *, what: str) -> bool:
    """Call ``send`` (which publishes a task); True when it was queued. Never raises: a failure
    is logged as a warning naming ``what`` (ids only, never PHI) and False is returned."""
    try:
        send()
    # Publishing errors only: an error the task raises when tasks run inline (eager, in tests)
    # must still surface.
    except (KombuError, RedisError, OSError) as exc:
        logger.warning(
            "%s was not queued (%s); the sweep will pick it up", what, type(exc).__name__
        )
        return False
    return True


def enqueue_on_commit(send: Callable[[], object], *, what: str) -> None:
    """``enqueue_or_log(send)`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue_or_log(send, what=what))
