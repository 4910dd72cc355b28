"""Tells a partner's contacts about webhook trouble (dead letters, a disabled endpoint).

Plain ``send_mail`` for now; engagement's email channel can replace the transport later.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail

from partners.models import Partner, PartnerContact

logger = logging.getLogger(__name__)


# Who hears about webhook trouble: the technical contacts, else the primary ones.
_ALERT_ROLES = (PartnerContact.Role.TECHNICAL, PartnerContact.Role.PRIMARY)


def partner_alert_recipients(partner: Partner) -> list[str]:
    by_role: dict[str, list[str]] = {}
    for role, email in PartnerContact.objects.filter(
        partner=partner, role__in=_ALERT_ROLES
    ).values_list("role", "email"):
        by_role.setdefault(role, []).append(email)
    for role in _ALERT_ROLES:
        if by_role.get(role):
            return sorted(set(by_role[role]))
    return []


def partner_alert(*, partner: Partner, subject: str, lines: list[str]) -> int:
    """Email the partner's contacts; returns how many were sent. Never raises: an alert that
    cannot be sent must not undo the delivery bookkeeping that triggered it."""
    recipients = partner_alert_recipients(partner)
    if not recipients:
        # The subject names the endpoint URL, which may carry a token: not logged.
        logger.warning("no technical or primary contact to alert for partner %s", partner.public_id)
        return 0
    try:
        return send_mail(
            subject=subject,
            message="\n".join(lines),
            from_email=settings.WEBHOOK_ALERT_FROM_EMAIL,
            recipient_list=recipients,
        )
    except Exception:
        logger.exception("webhook alert email to partner %s failed", partner.public_id)
        return 0
