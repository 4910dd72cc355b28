"""``django.contrib.admin`` with the clinic console as its default site (``rbac.console``)."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "rbac.console.ConsoleSite"
