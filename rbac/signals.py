"""Hooks other (higher) apps subscribe to; rbac imports none of them.

``consent_changed`` is sent inside the transaction that changed a consent, once the change is
written, so whatever a receiver writes (an outbox event) commits or rolls back with the change
and a receiver that raises undoes it. Receivers do no I/O there (queue it with
``transaction.on_commit``). Sent with:

* ``sender``: ``ConsentRecord``
* ``consent``: the ``ConsentRecord`` (its state after the change)
* ``change``: ``"recorded"``, ``"confirmed"`` or ``"revoked"`` (a consent recorded directly as
  confirmed sends ``"recorded"`` with ``consent.status == "confirmed"``)
* ``actor``: the ``careos.actors.Actor`` who made the change

partners publishes ``consent.confirmed`` / ``consent.revoked`` events from it
(``partners.services.consents``).
"""

from django.dispatch import Signal

consent_changed = Signal()
