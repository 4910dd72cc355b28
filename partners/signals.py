"""Hooks partners exposes to the apps above it (which partners never imports)."""

from django.dispatch import Signal

# Sent by ``generate_partner_keys`` after it issued an API key, with ``partner``,
# ``environment`` ("live"|"test") and ``api_key_secret`` (the key just issued, shown once).
# A receiver may create what the partner needs next and return setup text to print (a ``str``;
# ``""`` prints nothing). Receivers raising ``DomainError`` abort the command with its message.
partner_keys_generated = Signal()
