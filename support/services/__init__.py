"""Support writes, by concern: tickets, escalation, SLA sweep, CSAT."""
