from django.apps import AppConfig


class CareosConfig(AppConfig):
    name = "careos"
    verbose_name = "CareOS kernel"

    def ready(self) -> None:
        # Registers the kernel's drf-spectacular extensions before any schema is generated.
        import careos.api.schema  # noqa: F401
