from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, register
from django.core.checks import Error as CheckError


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        register(check_billing_provider_settings)


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
