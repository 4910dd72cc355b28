"""Domain errors that services raise; the API layer turns each into a problem+json response."""

from typing import Any


class DomainError(Exception):
    """A refused operation with a stable machine-readable ``code`` and an HTTP ``status``."""

    code: str = "invalid_request"
    status: int = 400
    title: str = "The request cannot be processed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra or {}
        super().__init__(self.detail)


class NotFoundError(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class ConflictError(DomainError):
    code = "conflict"
    status = 409
    title = "The resource is not in a state that allows this"


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status = 403
    title = "You do not have permission to do this"
