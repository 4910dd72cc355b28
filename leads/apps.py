from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        # Connects to partners' generate_partner_keys hook (partners never imports leads).
        from leads import setup  # noqa: F401
        from leads.models import CategoryMapping, LeadEncryptionKey
        from partners.signals import watch_partner_configuration
        from rbac.scoping import patient_relationship_register

        # leads.selectors.ingest_config_for memoizes these with the partner's credentials.
        watch_partner_configuration(LeadEncryptionKey, CategoryMapping)
        # A lead routed to a clinic makes its patient one of the clinic's people.
        patient_relationship_register(
            model_label="leads.Lead", patient_field="patient", clinic_field="assigned_clinic"
        )
