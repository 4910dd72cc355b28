"""Reminder recurrence rules (RFC 5545 RRULE, parsed by python-dateutil): what is accepted.

A reminder may recur at most hourly: a rule firing more often (``FREQ=MINUTELY``, or
``BYMINUTE=0,30``) would flood the patient. Checked by the reminder service and, as a model
validator, by every form (the admin).
"""

import re
from datetime import datetime, timedelta
from itertools import islice

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError

from careos.errors import DomainError

MIN_INTERVAL = timedelta(hours=1)
# Gaps between the first occurrences show a sub-hourly rule (BY* lists repeat every period).
_OCCURRENCES_CHECKED = 200
# Refused before dateutil expands them: a sub-hourly rule may take minutes to iterate.
_SUB_HOURLY_FREQ = re.compile(r"(?:^|;)\s*FREQ\s*=\s*(?:MINUTELY|SECONDLY)\s*(?:;|$)", re.I)


class RecurrenceError(DomainError):
    code = "rrule_invalid"
    status = 400
    title = "The recurrence rule is invalid"


class RecurrenceTooFrequent(RecurrenceError):
    code = "rrule_too_frequent"
    title = "A reminder may recur at most once an hour"


def rrule_validate(*, rrule: str) -> None:
    """Raise ``RecurrenceError`` for a rule dateutil cannot read, ``RecurrenceTooFrequent``
    for one whose occurrences can come less than an hour apart; "" (one-off) is fine."""
    if not rrule:
        return
    body = rrule.removeprefix("RRULE:")
    if _SUB_HOURLY_FREQ.search(body):
        raise RecurrenceTooFrequent("FREQ=MINUTELY and FREQ=SECONDLY are not allowed.")
    try:
        rule = rrulestr(body, dtstart=datetime(2000, 1, 1))
        previous = None
        for occurrence in islice(rule, _OCCURRENCES_CHECKED):
            if previous is not None and occurrence - previous < MIN_INTERVAL:
                raise RecurrenceTooFrequent(
                    "Occurrences of this rule come less than an hour apart."
                )
            previous = occurrence
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(str(exc)) from exc


def validate_rrule(value: str) -> None:
    """The model/form validator form of ``rrule_validate``."""
    try:
        rrule_validate(rrule=value)
    except RecurrenceError as exc:
        raise ValidationError(exc.detail, code=exc.code) from exc
