"""Two attempts with the same Idempotency-Key at the same moment, over HTTP: one appeal, one answer."""

import threading

import pytest
import requests

from evidence.models import Evidence
from tests.tickets.test_appeal_submit import stored_files
from tickets.models import Appeal

from .conftest import api_key_issue
from .test_appeal_create import body


@pytest.mark.django_db(transaction=True)
def test_two_attempts_at_once_file_one_appeal(live_server, appeal_types, integration, evidence_root):
    key = api_key_issue(integration)
    data = body(appeal_types)
    fields = {name: value for name, value in data.items() if not hasattr(value, "read")}
    uploads = [(name, (value.name, value.read(), value.content_type)) for name, value in data.items() if hasattr(value, "read")]
    start = threading.Barrier(2)
    answers = []

    def attempt():
        start.wait()
        answers.append(
            requests.post(
                f"{live_server.url}/api/v1/appeals/",
                data=fields,
                files=uploads,
                headers={"Authorization": f"Api-Key {key}", "Idempotency-Key": "retry-me"},
                timeout=60,
            )
        )

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Appeal.objects.count() == 1
    assert len(stored_files(evidence_root)) == Evidence.objects.count()
