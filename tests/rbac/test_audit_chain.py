"""The audit log's hash chain (rbac/audit_chain.py) and ``manage.py audit_verify``."""

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from careos.actors import Actor
from rbac import services
from rbac.audit_chain import PLATFORM_CHAIN, audit_chains_verify
from rbac.models import AuditEvent, Clinic
from tests.dbroles import execute_as_owner
from tests.infra import require_postgresql

pytestmark = pytest.mark.django_db

PARTNER = Actor(kind="partner", ref="key_test", label="Test key", partner_ref="ptr_chain")


def verify(*args: str) -> tuple[bool, str, str]:
    """Whether ``audit_verify`` passed (a broken chain raises CommandError: exit status 1),
    its output and its error output."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue(), err.getvalue() + str(exc)
    return True, out.getvalue(), err.getvalue()


def record(actor: Actor, clinic: Clinic | None = None, n: int = 1) -> list[AuditEvent]:
    return [
        services.audit_record(actor=actor, action=f"test.step{i}", clinic=clinic) for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)  # each event in a transaction of its own
def test_events_join_the_chain_of_their_clinic_partner_or_the_platform(
    clinic_a: Clinic, clinic_b: Clinic, actor: Actor
):
    a1, a2 = record(actor, clinic_a, 2)
    b1 = record(actor, clinic_b)[0]
    p1, p2 = record(PARTNER, None, 2)
    s1 = record(actor)[0]
    assert (a1.chain, b1.chain) == (f"clinic:{clinic_a.pk}", f"clinic:{clinic_b.pk}")
    assert (p1.chain, s1.chain) == ("partner:ptr_chain", PLATFORM_CHAIN)
    # A partner acting for a clinic writes to the clinic's chain.
    assert record(PARTNER, clinic_a)[0].chain == a1.chain
    assert (p1.chain_seq, p1.prev_hash, p2.chain_seq, p2.prev_hash) == (
        1,
        "",
        2,
        p1.entry_hash,
    )
    assert a2.chain_seq == a1.chain_seq + 1 and a2.prev_hash == a1.entry_hash
    assert len({a1.entry_hash, a2.entry_hash, b1.entry_hash, p1.entry_hash}) == 4
    ok, out, _ = verify("-v", "2")
    assert ok
    chains = AuditEvent.objects.values("chain").distinct().count()
    assert f"OK: {chains} audit chains, {AuditEvent.objects.count()} events verified" in out
    assert f"partner:ptr_chain: 2 events, head #2 {p2.entry_hash}" in out


def test_what_a_chain_covers_reads_back_the_same(clinic_a: Clinic, agent_a):
    """Values the database hands back in another form (jsonb numbers, an IPv6 address written
    long, a time zone) hash the same as when they were written."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="2001:0db8:0000:0000:0000:0000:0000:0001", HTTP_USER_AGENT="pytest/ü"
    )
    services.audit_record(
        actor=agent_a,
        action="patient.viewed",
        clinic=clinic_a,
        request=request,
        reason="Läuft: «ok» 診察",
        metadata={"big": 1e20, "one": 1.0, "tenth": 0.1, "list": [1.5, {"two": 2.0}], "n": None},
    )
    assert all(report.first_break is None for report in audit_chains_verify())


def test_an_event_with_a_hash_made_without_the_key_breaks_the_chain(
    clinic_a: Clinic, actor: Actor, settings
):
    """Who can insert rows but does not hold ``AUDIT_CHAIN_KEY`` cannot add a valid link."""
    record(actor, clinic_a)
    key, settings.AUDIT_CHAIN_KEY = settings.AUDIT_CHAIN_KEY, "someone-elses-key"
    forged = record(actor, clinic_a)[0]
    settings.AUDIT_CHAIN_KEY = key
    ok, _, err = verify()
    assert not ok and "1 of " in err
    assert f"BROKEN chain {forged.chain}: event {forged.public_id} (#{forged.chain_seq}): " in err
    assert "its content changed after it was written (hash mismatch)" in err


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tamper", ["change", "delete", "relink"])
def test_audit_verify_names_the_first_link_someone_with_the_owner_role_broke(
    clinic_a: Clinic, actor: Actor, tamper: str
):
    _, second, third, _ = record(actor, clinic_a, 4)
    assert verify()[0]
    statement, named, problem = {
        "change": (
            "UPDATE rbac_auditevent SET reason = 'nothing to see' WHERE id = %s",
            second,
            "its content changed after it was written (hash mismatch)",
        ),
        "delete": (
            "DELETE FROM rbac_auditevent WHERE id = %s",
            third,
            f"follows #{second.chain_seq - 1}: events #{second.chain_seq} to "
            f"#{second.chain_seq} are missing",
        ),
        "relink": (
            "UPDATE rbac_auditevent SET prev_hash = repeat('0', 64) WHERE id = %s",
            second,
            "its link to the previous event does not match (an event was replaced)",
        ),
    }[tamper]
    execute_as_owner(statement, [second.pk], triggers_off=True)
    ok, _, err = verify()
    assert not ok
    assert err.splitlines() == [
        f"BROKEN chain {second.chain}: event {named.public_id} (#{named.chain_seq}): {problem}",
        f"1 of {AuditEvent.objects.values('chain').distinct().count()} audit chains are broken "
        f"({AuditEvent.objects.count()} events)",
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_valid_chain(clinic_a: Clinic, actor: Actor):
    """Writers of one chain, each in its own transaction on its own connection, started
    together: every event gets the next number and links to the one before (PostgreSQL)."""
    require_postgresql()
    writers, each = 6, 10
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            start.wait(timeout=30)
            for _ in range(each):
                with transaction.atomic():
                    services.audit_record(actor=actor, action="test.concurrent", clinic=clinic_a)
                    services.audit_record(actor=actor, action="test.concurrent", clinic=clinic_a)
                services.audit_record(actor=PARTNER, action="test.concurrent")
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    reports = {r.chain: r for r in audit_chains_verify()}
    clinic_chain = reports[f"clinic:{clinic_a.pk}"]
    assert clinic_chain.first_break is None and reports["partner:ptr_chain"].first_break is None
    assert reports["partner:ptr_chain"].events == writers * each
    concurrent = AuditEvent.objects.filter(chain=clinic_chain.chain, action="test.concurrent")
    assert concurrent.count() == 2 * writers * each
    assert clinic_chain.head_seq == clinic_chain.events  # numbered 1..n without a gap
    assert verify()[0]


@pytest.mark.django_db(transaction=True)
def test_an_event_without_a_clinic_joins_the_chain_its_transaction_writes_to(
    clinic_a: Clinic, actor: Actor
):
    """So a transaction waits for no chain lock besides its clinics' (see the next test); and
    the chain's head is then the transaction's own last event: no statement to find it."""
    with transaction.atomic():
        in_clinic = record(actor, clinic_a)[0]
        with CaptureQueriesContext(connection) as queries:
            without = record(PARTNER)[0]
    assert (without.chain, without.chain_seq) == (in_clinic.chain, in_clinic.chain_seq + 1)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    with transaction.atomic():
        assert record(PARTNER)[0].chain == "partner:ptr_chain"  # a transaction of its own
    assert all(report.first_break is None for report in audit_chains_verify())


def test_a_rolled_back_savepoint_takes_its_events_out_of_the_chain(clinic_a: Clinic, actor: Actor):
    with transaction.atomic():
        first = record(actor, clinic_a)[0]
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            record(actor, clinic_a, 2)
            1 / 0  # noqa: B018
        after = record(actor, clinic_a)[0]
    assert (after.chain_seq, after.prev_hash) == (first.chain_seq + 1, first.entry_hash)
    assert all(report.first_break is None for report in audit_chains_verify())


@pytest.mark.django_db(transaction=True)
def test_transactions_auditing_a_clinic_and_the_platform_in_opposite_orders_both_commit(
    clinic_a: Clinic, actor: Actor
):
    """One writes the clinic's chain then an event without a clinic; the other an event without
    a clinic then the clinic's chain, each holding its first lock when the other asks for its
    second. The first joins the clinic's chain it holds (no second lock), so the second waits
    for it to commit instead of both waiting for each other (PostgreSQL: a deadlock, one
    aborted)."""
    require_postgresql()
    both_wrote_once = threading.Barrier(2)
    errors: list[BaseException] = []

    def clinic_first() -> None:
        try:
            with transaction.atomic():
                record(actor, clinic_a)
                both_wrote_once.wait(timeout=30)
                record(actor)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    def platform_first() -> None:
        try:
            with transaction.atomic():
                record(actor)
                both_wrote_once.wait(timeout=30)
                record(actor, clinic_a)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clinic_first), threading.Thread(target=platform_first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert AuditEvent.objects.filter(action="test.step0").count() == 4
    assert verify()[0]


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_events_written_before_the_chain(actor: Actor, clinic_a: Clinic):
    """Migrating back to before the chain and forward again (``migrate`` connects as the owner
    role, when there is one) chains the events already there, oldest first; the append-only
    triggers are back afterwards."""
    record(actor, clinic_a, 2)
    record(PARTNER, None, 1)
    before = list(AuditEvent.objects.order_by("id").values_list("id", "chain", "chain_seq"))
    call_command("migrate", "rbac", "0003_auditevent_append_only_triggers", verbosity=0)
    with connection.cursor() as cursor:  # 0004's columns are gone, the events are not
        cursor.execute("SELECT count(*) FROM rbac_auditevent")
        assert cursor.fetchone()[0] == len(before)
    call_command("migrate", verbosity=0)
    after = list(AuditEvent.objects.order_by("id").values_list("id", "chain", "chain_seq"))
    assert after == before
    assert verify()[0]
    event = AuditEvent.objects.filter(chain=f"clinic:{clinic_a.pk}").last()
    with pytest.raises(DatabaseError, match="append-only"):
        execute_as_owner("UPDATE rbac_auditevent SET reason = 'x' WHERE id = %s", [event.pk])
