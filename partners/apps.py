from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        from django.conf import settings
        from oauth2_provider.settings import oauth2_settings

        from partners import signals
        from partners.oauth import pkce_required

        signals.connect()

        # A callable cannot be an import string in DOT settings, and settings.py may not import
        # apps (layers): PKCE is required per client, for public clients.
        settings.OAUTH2_PROVIDER.setdefault("PKCE_REQUIRED", pkce_required)
        oauth2_settings.reload()
