from support.models.calendar import (
    AgentProfile,
    AgentWorkingHours,
    BusinessCalendar,
    BusinessHours,
    Closure,
)
from support.models.csat import CsatResponse
from support.models.queue import Queue
from support.models.sla import SlaPolicy, SlaTarget
from support.models.ticket import Ticket, TicketComment

__all__ = [
    "AgentProfile",
    "AgentWorkingHours",
    "BusinessCalendar",
    "BusinessHours",
    "Closure",
    "CsatResponse",
    "Queue",
    "SlaPolicy",
    "SlaTarget",
    "Ticket",
    "TicketComment",
]
