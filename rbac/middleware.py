"""One audit event per request for the patient data it showed (``careos.phi``).

Listed after the authentication middleware. A response that failed (status 400 or more) showed
nothing and is not audited. A patient reading their own records is not an access to audit.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from careos.actors import Actor
from careos.phi import PhiReads, phi_collect
from rbac.models import Clinic, User
from rbac.services import actor_for_user, audit_record

ACTION = "phi.viewed"


def _actor(request: HttpRequest) -> Actor | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return actor_for_user(user)
    principal_actor = getattr(getattr(request, "auth", None), "actor", None)
    return principal_actor if isinstance(principal_actor, Actor) else None


def phi_read_record(*, request: HttpRequest, reads: PhiReads, actor: Actor) -> None:
    """Write the audit event naming every patient in ``reads`` (one query for their ids)."""
    patient_ids = [pk for pk in reads.patient_ids if pk != actor.user_id]
    if not patient_ids:
        return
    refs = dict(User.objects.filter(pk__in=patient_ids).values_list("pk", "public_id"))
    ordered = [refs[pk] for pk in patient_ids if pk in refs]
    targets = list(reads.target_refs)
    clinics = list(reads.clinic_ids)
    match = getattr(request, "resolver_match", None)
    audit_record(
        actor=actor,
        action=ACTION,
        target_type=reads.target_type,
        target_ref=targets[0] if len(targets) == 1 else "",
        patient=User(pk=patient_ids[0]) if len(patient_ids) == 1 else None,
        clinic=Clinic(pk=clinics[0]) if len(clinics) == 1 else None,
        request=request,
        reason=reads.via,
        metadata={
            "patients": ordered,
            "records": targets,
            "view": match.view_name if match is not None else "",
        },
    )


class PhiReadAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with phi_collect() as reads:
            response = self.get_response(request)
        if reads.patient_ids and response.status_code < 400:
            actor = _actor(request)
            if actor is not None:
                phi_read_record(request=request, reads=reads, actor=actor)
        return response
