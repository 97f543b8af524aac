"""The release sweep at scale: on a realistic mix (approvals held until later, others released long
ago and carried out, open and rejected appeals) with a few holds just ended, the sweep's locking
statement reads the partial index `appeal_hold_due` and the due rows only; an idle sweep reads none.
The 1,000,000-appeal timing is bench/bench_release.py."""

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tickets.test_sla_scale import explain_analyze, rows_read
from tickets.models import Appeal, AppealState, FulfilmentState
from tickets.seed.generate import appeals_generate
from tickets.services.hold import release_sweep

pytestmark = pytest.mark.django_db

MIX, DUE = 30_000, 40


@pytest.fixture(scope="module")
def mix_with_holds_just_ended(bulk_rows, request):
    """Built once for the tests that read it (each test's changes are rolled back), removed after them."""
    if connection.vendor != "postgresql":
        pytest.fail("the scale test needs PostgreSQL (make test runs it there)")

    def make():
        now = timezone.now()
        assert appeals_generate(count=MIX, held_due=DUE, now=now, seed=17, related=False) == MIX + DUE
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load
        return now

    return bulk_rows.build(request, make)


def locking_statement(now) -> str:
    """The sweep's SELECT … FOR UPDATE SKIP LOCKED, exactly as sent; the sweep is rolled back."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        release_sweep(now=now)
        transaction.set_rollback(True)
    statements = [q["sql"] for q in captured.captured_queries if " FOR UPDATE" in q["sql"] and "SKIP LOCKED" in q["sql"]]
    assert statements and all("%s" not in sql for sql in statements)
    return statements[0]


def reads(nodes: list[dict]) -> tuple[list[str], int]:
    """(indexes read, rows of the appeals table read); never a sequential scan."""
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
    return [n["Index Name"] for n in nodes if n.get("Index Name")], rows_read(nodes)


def test_the_mix_holds_approvals_until_later_beside_the_ones_just_due(mix_with_holds_just_ended):
    now = mix_with_holds_just_ended
    held = Appeal.objects.filter(fulfilment=FulfilmentState.HELD)
    assert held.filter(hold_until__lte=now).count() == DUE
    assert held.filter(hold_until__gt=now).exists()  # approved less than a hold ago
    assert not held.exclude(state=AppealState.APPROVED).exists()
    # Released when their hold ended, long before `now`; then most were carried out.
    released_after_hold = Appeal.objects.filter(hold_number=1).exclude(fulfilment=FulfilmentState.HELD)
    assert released_after_hold.filter(fulfilment__in=[FulfilmentState.DONE, FulfilmentState.FAILED]).exists()
    assert not released_after_hold.exclude(released_at=F("hold_until")).exists()


def test_the_due_statement_reads_the_partial_index_and_only_the_due_rows(mix_with_holds_just_ended):
    indexes, rows = reads(explain_analyze(locking_statement(mix_with_holds_just_ended)))
    assert indexes == ["appeal_hold_due"]
    assert rows == DUE, f"the due statement read {rows} rows of {MIX + DUE}"


def test_an_idle_sweep_reads_no_row(mix_with_holds_just_ended):
    now = mix_with_holds_just_ended
    assert len(release_sweep(now=now)) == DUE
    indexes, rows = reads(explain_analyze(locking_statement(now)))
    assert indexes == ["appeal_hold_due"] and rows == 0
    assert release_sweep(now=now) == []
