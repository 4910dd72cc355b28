from engagement.models.campaigns import Campaign, PatientTag
from engagement.models.caps import RecipientDay
from engagement.models.messages import Channel, Message, MessageAttempt, MessageStatus
from engagement.models.optouts import OptOut, PushSubscription
from engagement.models.reminders import PatientTask, Reminder, ReminderOccurrence
from engagement.models.templates import MessageTemplate

__all__ = [
    "Campaign",
    "Channel",
    "Message",
    "MessageAttempt",
    "MessageStatus",
    "MessageTemplate",
    "OptOut",
    "PatientTag",
    "PatientTask",
    "PushSubscription",
    "RecipientDay",
    "Reminder",
    "ReminderOccurrence",
]
