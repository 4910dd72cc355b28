from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from partners.access import access_check_register
        from partners.signals import watch_partner_configuration
        from payments.access import subscription_access_denial
        from payments.models import BillingAccount
        from rbac.scoping import patient_relationship_register

        register(check_billing_provider_settings)
        # A business customer's API access follows its subscription (payments.access), which
        # is memoized with the partner's credentials: a saved BillingAccount reloads it.
        access_check_register(subscription_access_denial)
        watch_partner_configuration(BillingAccount)
        # A booking makes its patient one of the clinic's people (the console's scoping).
        patient_relationship_register(
            model_label="payments.Booking", patient_field="patient", clinic_field="clinic"
        )


def check_billing_provider_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An unknown signature scheme would refuse every billing-provider webhook."""
    from django.conf import settings

    from payments.providers.billing_provider import SIGNATURE_SCHEMES

    scheme = settings.BILLING_PROVIDER_SIGNATURE_SCHEME
    if scheme in SIGNATURE_SCHEMES:
        return []
    return [
        CheckError(
            f"BILLING_PROVIDER_SIGNATURE_SCHEME is {scheme!r}: every billing-provider webhook "
            "would be refused.",
            hint=f"Set it to one of: {', '.join(SIGNATURE_SCHEMES)}.",
            id="payments.E001",
        )
    ]
