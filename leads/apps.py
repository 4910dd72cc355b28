from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        # Connects to partners' generate_partner_keys hook (partners never imports leads).
        from leads import setup  # noqa: F401
