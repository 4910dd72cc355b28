"""rbac's domain errors (each becomes a problem+json response with its ``code``)."""

from careos.errors import ConflictError, DomainError, NotFoundError


class InvalidConsentTransition(ConflictError):
    code = "invalid_consent_transition"
    title = "The consent cannot move to that status"


class InvalidConsent(DomainError):
    code = "invalid_consent"
    status = 400
    title = "The consent is invalid"


class ClinicSlugTaken(ConflictError):
    code = "clinic_slug_taken"
    title = "A clinic with this slug already exists"


class InvalidClinic(DomainError):
    code = "invalid_clinic"
    status = 400
    title = "The clinic settings are invalid"


class RoleNotInClinic(DomainError):
    code = "role_not_in_clinic"
    status = 400
    title = "The role does not belong to this clinic"


class NotARoleTemplate(DomainError):
    code = "not_a_role_template"
    status = 400
    title = "Only system role templates can be cloned"


class InvalidUser(DomainError):
    code = "invalid_user"
    status = 400
    title = "The user is invalid"


class PatientNotInClinic(NotFoundError):
    title = "No such patient in this clinic"
