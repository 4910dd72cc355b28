"""Celery tasks: thin wrappers over services; each claims its work so a rerun is harmless."""

from celery import Task, shared_task

from engagement.services import campaigns, caps, messages, reminders


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver_message(self: Task, *, message_id: int) -> str:
    report = messages.message_deliver(message_id=message_id)
    if report.retry_ids:
        raise self.retry(
            kwargs={"message_id": message_id}, countdown=messages.retry_countdown(message_id)
        )
    return "sent" if report.sent else "done"


@shared_task(acks_late=True)
def release_deferred_messages() -> int:
    # Also the sweep for claims whose worker died and for messages whose queueing failed (the
    # broker was down): one beat entry keeps every message moving; and it drops the daily cap's
    # counters of past days.
    caps.recipient_days_prune()
    return (
        messages.messages_release_deferred()
        + messages.messages_recover_stale_claims()
        + messages.messages_requeue_stuck()
    )


@shared_task(acks_late=True)
def dispatch_due_reminders() -> int:
    return reminders.reminders_dispatch_due()


@shared_task(acks_late=True)
def start_due_campaigns() -> int:
    # Also resumes sending campaigns whose next batch was never queued (broker down).
    return campaigns.campaigns_start_due() + campaigns.campaigns_resume_stalled()


@shared_task(acks_late=True)
def send_campaign_batch(*, campaign_id: int) -> int:
    return campaigns.campaign_send_batch(campaign_id=campaign_id)
