"""Catalogue, tax, invoice and adjustment permissions on the system role templates (and their
clinic clones): billing and clinic admins keep the price list; the care team reads invoices."""

from django.db import migrations

from rbac.migration_helpers import grant_template_permissions

_CATALOGUE = [
    f"payments.{action}_{model}"
    for model in ("catalogueservice", "serviceprice", "discountcode", "taxrate")
    for action in ("view", "add", "change")
] + ["payments.view_clinicbillingprofile", "payments.change_clinicbillingprofile"]
_INVOICES = ["payments.view_patientinvoice"]
GRANTS = {
    "billing": [*_CATALOGUE, *_INVOICES, "payments.adjust_booking"],
    "clinic_admin": [*_CATALOGUE, *_INVOICES, "payments.adjust_booking"],
    "support_agent": ["payments.view_catalogueservice"],
}


def forwards(apps, schema_editor):
    grant_template_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_catalogue_tax_invoices")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
