from django.apps import AppConfig


class CareosConfig(AppConfig):
    name = "careos"
    verbose_name = "CareOS kernel"
