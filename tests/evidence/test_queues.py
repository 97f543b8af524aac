"""A slow or hostile file cannot stall alerts: evidence runs on its own queue and worker, every task
has soft and hard time limits, and a JPEG built to be slow to decode is refused at upload."""

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.faults import ROOT, WorkerProcess, subprocess_database_url, wait_until
from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal, OutboundEmail


class QueueWorker(WorkerProcess):
    """`celery -A supportdesk worker -Q <queue>` in its own process, as deployed: prefork (the pool
    that enforces time limits), one task at a time."""

    def __init__(self, queue: str, pool: str = "prefork", **env):
        super().__init__(**env)
        self.queue, self.pool = queue, pool

    def start(self):
        import threading

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "supportdesk",
                "worker",
                f"--pool={self.pool}",
                "--concurrency=1",
                "-Q",
                self.queue,
                "-l",
                "info",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-n",
                f"{self.queue}-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line("ready.")
        return self


def files_on_disk(root) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


# --- Configuration -------------------------------------------------------------------------------


def test_evidence_tasks_are_routed_to_their_own_queue_and_the_rest_to_the_default():
    from supportdesk.celery import app

    app.loader.import_default_modules()
    ours = [name for name in app.tasks if name.startswith(("tickets.tasks.", "evidence.tasks."))]
    assert len(ours) >= 7
    for name in ours:
        queue = app.amqp.router.route({}, name)["queue"].name
        expected = settings.EVIDENCE_QUEUE if name.startswith("evidence.") else settings.CELERY_TASK_DEFAULT_QUEUE
        assert queue == expected, name
    assert settings.EVIDENCE_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE


def test_every_task_has_a_soft_and_a_hard_time_limit():
    from supportdesk.celery import app

    app.loader.import_default_modules()
    for name, task in app.tasks.items():
        if name.startswith(("tickets.tasks.", "evidence.tasks.")):
            assert name in settings.CELERY_TASK_TIME_LIMITS, name
            assert task.soft_time_limit and task.time_limit, name
            assert 0 < task.soft_time_limit < task.time_limit, name


# --- Refused at upload ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_progressive_jpeg_with_an_absurd_number_of_scans_is_refused_at_upload(en_client, appeal_types, evidence_root):
    bomb = files.progressive_jpeg_scan_bomb_bytes()
    assert len(bomb) < 400 * 1024  # small: the size limit does not catch it
    appeal_type = appeal_types["realname_unbind"]
    response = en_client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, evidence_id_front=files.upload("front.jpg", bomb, "image/jpeg")),
    )
    assert response.status_code == 400
    errors = " ".join(response.context["form"].uploads.errors["evidence_id_front"])
    assert "This JPEG is built to be slow to open (1010 progressive scans" in errors
    assert Appeal.objects.count() == Evidence.objects.count() == OutboundEmail.objects.count() == 0
    assert files_on_disk(evidence_root) == []


@pytest.mark.django_db
def test_an_ordinary_progressive_photo_is_accepted(client, appeal_types):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(files.photo_bytes(1200, 800))).save(buffer, "JPEG", progressive=True, quality=85)
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, evidence_id_front=files.upload("front.jpg", buffer.getvalue(), "image/jpeg")),
    )
    assert response.status_code == 302


# --- Real workers --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_processing_that_exceeds_its_soft_time_limit_is_stopped_and_the_file_refused(appeal_types, evidence_root):
    from evidence.tasks import evidence_process

    # Slow to decode (what got past the upload check, e.g. under an older, looser limit).
    slow = EvidenceFactory(
        appeal=AppealFactory(), status="pending", content=files.progressive_jpeg_scan_bomb_bytes(scans=300, padding=16 * 1024)
    )
    worker = QueueWorker(settings.EVIDENCE_QUEUE, EVIDENCE_ROOT=str(evidence_root)).start()
    try:
        # The limits travel with the message (the sender's settings): a 1 s soft limit, and a hard
        # limit far away, so that only the soft limit can stop the task here.
        evidence_process.apply_async((str(slow.pk),), soft_time_limit=1, time_limit=120)
        worker.wait_for_line("Soft time limit (1s) exceeded for evidence.tasks.evidence_process", timeout=60)
        wait_until(lambda: Evidence.objects.get(pk=slow.pk).status != "pending", 30, "the file to be refused")
        # The file is deleted just after the refusal commits: wait for that before stopping the worker.
        wait_until(lambda: files_on_disk(evidence_root) == [], 30, "the refused file to be deleted")
    finally:
        worker.stop()
    assert "Hard time limit" not in "".join(worker.log)
    slow.refresh_from_db()
    assert slow.status == "rejected" and not slow.file
    assert "We could not process this file in the time allowed." in slow.status_reason
    assert files_on_disk(evidence_root) == []


@pytest.mark.django_db(transaction=True)
def test_an_email_is_delivered_while_the_evidence_worker_is_busy(client, appeal_types, evidence_root, smtp_server):
    from evidence.tasks import evidence_process

    busy = EvidenceFactory(appeal=AppealFactory(), status="pending")
    env = {"EVIDENCE_ROOT": str(evidence_root), "EMAIL_URL": f"smtp://127.0.0.1:{settings.EMAIL_PORT}"}
    evidence_worker = QueueWorker(settings.EVIDENCE_QUEUE, **env).start()
    default_worker = QueueWorker(settings.CELERY_TASK_DEFAULT_QUEUE, pool="solo", **env).start()
    # Hold the evidence row locked from another connection: the job that processes it blocks, as a
    # slow file would, and keeps the evidence worker busy for as long as this test wants.
    holder = psycopg.connect(subprocess_database_url().replace("postgres://", "postgresql://", 1))
    try:
        holder.execute("SELECT id FROM evidence_evidence WHERE id = %s FOR UPDATE", [busy.pk])

        def waiting_on_the_lock():
            return holder.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0

        evidence_process.delay(str(busy.pk))
        wait_until(waiting_on_the_lock, 30, "the evidence job to block")

        appeal_type = appeal_types["realname_unbind"]
        response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
        assert response.status_code == 302
        acknowledgement = smtp_server.wait_for(1, timeout=30)[0]
        filed = Appeal.objects.exclude(pk=busy.appeal_id).get()
        assert filed.reference in acknowledgement["Subject"] + acknowledgement.get_body().get_content()
        assert waiting_on_the_lock()  # the evidence job was still blocked all along
        assert Evidence.objects.get(pk=busy.pk).status == "pending"
    finally:
        holder.rollback()
        holder.close()
        evidence_worker.stop()
        default_worker.stop()


@pytest.mark.django_db
def test_a_file_whose_processing_keeps_being_cut_off_is_refused(appeal_types, evidence_root, django_capture_on_commit_callbacks):
    """The hard limit replaces the worker process, so the task cannot clean up: each run is counted
    before it starts, and after EVIDENCE_MAX_PROCESSING_ATTEMPTS the file is refused, not retried for ever."""
    from evidence.processing import evidence_process

    item = EvidenceFactory(appeal=AppealFactory(), status="pending")
    Evidence.objects.filter(pk=item.pk).update(processing_attempts=settings.EVIDENCE_MAX_PROCESSING_ATTEMPTS)
    with django_capture_on_commit_callbacks(execute=True):
        evidence_process(evidence_id=item.pk)
    item.refresh_from_db()
    assert item.status == "rejected" and not item.file
    assert "We could not process this file in the time allowed." in item.status_reason
    assert files_on_disk(evidence_root) == []


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_pending_files_again_for_the_evidence_worker(appeal_types, celery_worker):
    from datetime import timedelta

    from django.utils import timezone

    from evidence.tasks import evidence_process_pending

    item = EvidenceFactory(appeal=AppealFactory(), status="pending")
    Evidence.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    evidence_process_pending.delay()
    celery_worker.finished.wait_for("evidence.tasks.evidence_process")
    item.refresh_from_db()
    assert item.status == "ready" and item.processing_attempts == 1
