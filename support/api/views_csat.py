"""Directory and satisfaction endpoints: published agent hours, CSAT survey and report."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.actors import Actor
from support import selectors
from support.api import serializers as s
from support.api.permissions import IsAgent, IsRequester
from support.permissions import agent_desks
from support.services.csat import csat_ticket_from_token, ticket_rate


class PublishedAgentsView(APIView):
    """Agents' published hours and languages in the caller's clinics (who answers, and when)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsRequester]

    @extend_schema(responses=s.PublishedAgentSerializer(many=True))
    def get(self, request: Request) -> Response:
        agents = selectors.published_agents(user=request.user)
        return Response(s.PublishedAgentSerializer(agents, many=True).data)


class CsatSurveyView(APIView):
    """The survey link's target: a signed token instead of a session."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=s.SurveySerializer, responses={201: s.CsatSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.SurveySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = csat_ticket_from_token(token=data.validated_data["token"])
        response = ticket_rate(
            ticket=ticket,
            rating=data.validated_data["rating"],
            comment=data.validated_data["comment"],
            actor=Actor(kind="user", ref=f"survey:{ticket.public_id}", label="CSAT survey link"),
            request=request,
        )
        return Response(s.CsatSerializer(response).data, status=status.HTTP_201_CREATED)


_AVERAGE = inline_serializer(
    "CsatAverage",
    {
        "id": serializers.CharField(allow_null=True),
        "name": serializers.CharField(allow_null=True),
        "average": serializers.FloatField(),
        "responses": serializers.IntegerField(),
    },
    many=True,
)


class CsatReportView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAgent]

    @extend_schema(
        responses=inline_serializer(
            "CsatReport", {"clinics": _AVERAGE, "queues": _AVERAGE, "agents": _AVERAGE}
        )
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.csat_report(desks=agent_desks(request.user)))
