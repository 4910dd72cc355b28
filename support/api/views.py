"""Ticket endpoints: thin views that validate, call a service, serialize."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.actors import Actor
from careos.api.filters import query_filters
from careos.api.idempotency import idempotent
from careos.errors import DomainError, NotFoundError
from partners.api.authentication import PartnerAuthentication
from rbac.models import Clinic, User
from rbac.services import actor_for_user
from support import selectors
from support.api import serializers as s
from support.api.permissions import IsAgent, IsRequester, partner_principal
from support.models import Queue, Ticket
from support.services.comments import ticket_comment_add
from support.services.csat import ticket_rate
from support.services.escalation import EscalationKind, ticket_escalate
from support.services.tickets import (
    TicketInput,
    ticket_assign,
    ticket_create,
    ticket_priority_change,
    ticket_status_change,
)

AUTH = [PartnerAuthentication, SessionAuthentication]
ID_PARAM = OpenApiParameter("id", str, OpenApiParameter.PATH, description="Ticket id (tkt_…)")


class Caller:
    """The requester or agent behind a request, and the ticket they may see."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.principal = partner_principal(request)
        self.partner = self.principal.partner if self.principal else None
        self.user: User | None = None if self.principal else request.user

    @property
    def actor(self) -> Actor:
        return self.principal.actor if self.principal else actor_for_user(self.user)

    def ticket(self, public_id: str) -> tuple[Ticket, bool]:
        if self.partner is not None:
            return selectors.ticket_for_partner(partner=self.partner, public_id=public_id), False
        return selectors.ticket_for_user(user=self.user, public_id=public_id)


def _agent_ticket(request: Request, public_id: str) -> Ticket:
    ticket, as_agent = Caller(request).ticket(public_id)
    if not as_agent:
        raise NotFoundError("No such ticket.")
    return ticket


def _ticket_response(request: Request, ticket: Ticket, code: int = 200) -> Response:
    ticket = selectors.ticket_reload(ticket=ticket)
    return Response(s.TicketSerializer(ticket).data, status=code)


class TicketListCreateView(ListAPIView):
    """A requester's own tickets; create a ticket (``Idempotency-Key`` accepted). A partner
    without ``clinicId`` asks CareOS itself: the platform's partner-support desk."""

    authentication_classes = AUTH
    permission_classes = [IsRequester]
    serializer_class = s.TicketSerializer

    def get_queryset(self) -> QuerySet[Ticket]:
        caller = Caller(self.request)
        return selectors.tickets_for_requester(user=caller.user, partner=caller.partner)

    @extend_schema(request=s.TicketCreateSerializer, responses={201: s.TicketSerializer})
    @idempotent
    def post(self, request: Request) -> Response:
        data = s.TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        clinic = None
        if v.get("clinic_id"):
            clinic = Clinic.objects.filter(public_id=v["clinic_id"], is_active=True).first()
            if clinic is None:
                raise DomainError("Unknown clinic.", code="clinic_not_found", status=400)
        caller = Caller(request)
        user = caller.user
        ticket = ticket_create(
            data=TicketInput(
                clinic=clinic,
                subject=v["subject"],
                description=v["description"],
                priority=v["priority"],
                channel=v["channel"],
                language=v.get("language") or (user.preferred_language if user else "en"),
                region=v.get("region") if "region" in v else (user.region if user else ""),
                category=v["category"],
                attachments=v["attachments"],
            ),
            actor=caller.actor,
            requester=user,
            requester_partner=caller.partner,
            request=request,
        )
        return _ticket_response(request, ticket, 201)


class AgentTicketListView(ListAPIView):
    """Queue view for agents: tickets of their clinics (and, for CareOS staff, partners'
    tickets to the platform), with SLA state."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]
    serializer_class = s.TicketSerializer

    @extend_schema(parameters=[s.QueueFilters])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Ticket]:
        params = query_filters(s.QueueFilters, self.request)
        qs = selectors.tickets_for_agent(user=self.request.user)
        if params.get("queue"):
            qs = qs.filter(queue__public_id=params["queue"])
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        if params.get("priority"):
            qs = qs.filter(priority=params["priority"])
        if params.get("assignee") == "me":
            qs = qs.filter(assignee=self.request.user)
        elif params.get("assignee"):
            qs = qs.filter(assignee__public_id=params["assignee"])
        return selectors.filter_sla_state(qs, params.get("sla", ""), now=timezone.now())


class TicketDetailView(APIView):
    authentication_classes = AUTH
    permission_classes = [IsRequester]

    @extend_schema(parameters=[ID_PARAM], responses=s.TicketSerializer)
    def get(self, request: Request, id: str) -> Response:
        ticket, _ = Caller(request).ticket(id)
        return Response(s.TicketSerializer(ticket).data)  # the read is audited (careos.phi)


class TicketCommentsView(APIView):
    """Public comments for requesters; agents also see and add internal notes."""

    authentication_classes = AUTH
    permission_classes = [IsRequester]

    @extend_schema(parameters=[ID_PARAM], responses=s.CommentSerializer(many=True))
    def get(self, request: Request, id: str) -> Response:
        ticket, as_agent = Caller(request).ticket(id)
        comments = ticket.comments.select_related("author", "author_partner")
        if not as_agent:
            comments = comments.filter(kind="public")
        return Response(s.CommentSerializer(comments, many=True).data)

    @extend_schema(
        parameters=[ID_PARAM],
        request=s.CommentCreateSerializer,
        responses={201: s.CommentSerializer},
    )
    def post(self, request: Request, id: str) -> Response:
        caller = Caller(request)
        ticket, as_agent = caller.ticket(id)
        data = s.CommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = ticket_comment_add(
            ticket=ticket,
            body=data.validated_data["body"],
            actor=caller.actor,
            author=caller.user,
            author_partner=caller.partner,
            is_agent=as_agent,
            internal=data.validated_data["internal"],
            attachments=data.validated_data["attachments"],
            request=request,
        )
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class TicketEscalateView(APIView):
    """Requester: "talk to a human". Agent: escalate to a supervisor."""

    authentication_classes = AUTH
    permission_classes = [IsRequester]

    @extend_schema(
        parameters=[ID_PARAM], request=s.EscalateSerializer, responses=s.TicketSerializer
    )
    def post(self, request: Request, id: str) -> Response:
        caller = Caller(request)
        ticket, as_agent = caller.ticket(id)
        data = s.EscalateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_escalate(
            ticket=ticket,
            actor=caller.actor,
            reason=data.validated_data["reason"],
            kind=EscalationKind.AGENT if as_agent else EscalationKind.REQUESTER,
            request=request,
        )
        return _ticket_response(request, ticket)


class TicketRatingView(APIView):
    authentication_classes = AUTH
    permission_classes = [IsRequester]

    @extend_schema(
        parameters=[ID_PARAM], request=s.RatingSerializer, responses={201: s.CsatSerializer}
    )
    def post(self, request: Request, id: str) -> Response:
        caller = Caller(request)
        ticket, _ = caller.ticket(id)
        is_requester = (
            ticket.requester_partner_id == caller.partner.pk
            if caller.partner
            else ticket.requester_id == caller.user.pk
        )
        if not is_requester:
            raise DomainError(
                "Only the requester rates a ticket.", code="not_requester", status=403
            )
        data = s.RatingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = ticket_rate(
            ticket=ticket, actor=caller.actor, request=request, **data.validated_data
        )
        return Response(s.CsatSerializer(response).data, status=status.HTTP_201_CREATED)


class TicketAssignView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    @extend_schema(parameters=[ID_PARAM], request=s.AssignSerializer, responses=s.TicketSerializer)
    def post(self, request: Request, id: str) -> Response:
        ticket = _agent_ticket(request, id)
        data = s.AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignee = None
        if data.validated_data["assignee_id"]:
            assignee = User.objects.filter(public_id=data.validated_data["assignee_id"]).first()
            if assignee is None:
                raise DomainError("Unknown assignee.", code="invalid_assignee")
        queue = None
        if data.validated_data.get("queue_id"):
            queue = Queue.objects.filter(
                public_id=data.validated_data["queue_id"], clinic_id=ticket.clinic_id
            ).first()
            if queue is None:
                raise DomainError("Unknown queue.", code="invalid_queue")
        ticket = ticket_assign(
            ticket=ticket,
            assignee=assignee,
            queue=queue,
            actor=actor_for_user(request.user),
            request=request,
        )
        return _ticket_response(request, ticket)


class TicketStatusView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    @extend_schema(parameters=[ID_PARAM], request=s.StatusSerializer, responses=s.TicketSerializer)
    def post(self, request: Request, id: str) -> Response:
        ticket = _agent_ticket(request, id)
        data = s.StatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_status_change(
            ticket=ticket,
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
            actor=actor_for_user(request.user),
            request=request,
        )
        return _ticket_response(request, ticket)


class TicketPriorityView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    @extend_schema(
        parameters=[ID_PARAM], request=s.PrioritySerializer, responses=s.TicketSerializer
    )
    def post(self, request: Request, id: str) -> Response:
        ticket = _agent_ticket(request, id)
        data = s.PrioritySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_priority_change(
            ticket=ticket,
            priority=data.validated_data["priority"],
            reason=data.validated_data["reason"],
            actor=actor_for_user(request.user),
            request=request,
        )
        return _ticket_response(request, ticket)


class QueueListView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    @extend_schema(responses=s.QueueSerializer(many=True))
    def get(self, request: Request) -> Response:
        queues = selectors.queues_for_agent(user=request.user)
        return Response(s.QueueSerializer(queues, many=True).data)
