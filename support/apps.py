from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"

    def ready(self) -> None:
        from rbac.scoping import patient_relationship_register

        # A ticket makes its requester one of the clinic's people (the console's scoping).
        patient_relationship_register(
            model_label="support.Ticket", patient_field="requester", clinic_field="clinic"
        )
