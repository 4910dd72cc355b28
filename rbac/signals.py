"""Hooks other (higher) apps subscribe to; rbac imports none of them.

``consent_changed`` is sent after the transaction that changed a consent commits, with:

* ``sender``: ``ConsentRecord``
* ``consent``: the ``ConsentRecord`` (its state after the change)
* ``change``: ``"recorded"``, ``"confirmed"`` or ``"revoked"`` (a consent recorded directly as
  confirmed sends ``"recorded"`` with ``consent.status == "confirmed"``)
* ``actor``: the ``careos.actors.Actor`` who made the change

For example partners publishes ``consent.confirmed`` / ``consent.revoked`` events from it.
"""

from django.dispatch import Signal

consent_changed = Signal()
