"""A duplicate ingest against the lead's welcome SMS, with real PostgreSQL row locks (skipped
on SQLite locally, a failure in CI)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from rest_framework.response import Response

from leads.models import Lead
from leads.services.welcome import lead_welcome_send
from tests.infra import require_postgresql

INGEST = "/api/v1/leads/ingest"


def _wait_for_a_lock_wait(*, timeout: float = 30) -> None:
    """Until a session of this database waits for a lock another transaction holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    pytest.fail(f"no session waited for a lock within {timeout}s")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_duplicate_arriving_while_the_welcome_is_sent_gets_the_lead_not_a_deadlock(
    ingest_client, make_payload, broker
):
    """The welcome's transaction updates the lead and inserts a message referencing the patient
    (its foreign key is checked at commit); the duplicate locks the patient, then its lead
    insert waits for the welcome's transaction. The patient lock must not block that check."""
    require_postgresql()
    payload = make_payload()
    broker.down()  # the after-commit welcome is not queued: the sweep's task sends it below
    first = ingest_client.post(INGEST, payload, format="json")
    broker.up()
    assert first.status_code == 201
    lead = Lead.objects.get()
    assert (lead.welcome_message_queued, lead.welcome_message_ref) == (True, "")

    sent, commit = threading.Event(), threading.Event()

    def send_welcome() -> None:
        try:
            with transaction.atomic():
                lead_welcome_send(lead_id=lead.pk)
                sent.set()
                assert commit.wait(timeout=30)
        finally:
            sent.set()
            connection.close()

    def post_duplicate() -> Response:
        try:
            return ingest_client.post(INGEST, payload, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        welcome = pool.submit(send_welcome)
        assert sent.wait(timeout=30)
        duplicate = pool.submit(post_duplicate)
        _wait_for_a_lock_wait()  # the duplicate's lead insert, behind the welcome's transaction
        commit.set()
        welcome.result(timeout=30)
        response = duplicate.result(timeout=30)

    assert response.status_code == 200, response.content
    assert response.json()["leadId"] == lead.public_id
    assert Lead.objects.count() == 1
    lead.refresh_from_db()
    assert lead.welcome_message_ref.startswith("msg_")
