"""The consent to process ID images says who sees them, exactly as evidence access decides it."""

import pytest
from django.urls import reverse

from tests.tickets.factories import submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db

WHO_SEES = (
    "While the appeal is open they are seen only by the agent handling it and the supervisors (and, until an "
    "agent takes it on, by the agents sorting new appeals); once it is decided, only by the supervisors."
)


def test_the_consent_names_who_sees_the_id_images_and_is_stored_as_shown(en_client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    page = en_client.get(reverse("tickets:new", args=[appeal_type.code])).content.decode()
    assert WHO_SEES in page
    assert "seen only by the agents deciding the appeal" not in page
    chinese = en_client.get(reverse("tickets:new", args=[appeal_type.code]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "申诉有结论后，只有主管可以查看" in chinese

    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302
    assert WHO_SEES in Appeal.objects.get().consent_text
