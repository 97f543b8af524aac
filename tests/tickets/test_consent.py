"""The consent to process ID images says who sees them, exactly as evidence access decides it."""

import pytest
from django.urls import reverse

from tests.tickets.factories import submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db

WHO_SEES = (
    "and every other file I send with this appeal (all of them are personal data), to verify my identity for "
    "this appeal only. They are stored privately. While the appeal is open they are seen by the agent handling "
    "it, whoever proposes or gives its approval, and the supervisors; any other staff member must first state a "
    "reason, which is recorded and reported to the supervisors, and may then see them for 60 minutes. Once the "
    "appeal is decided, withdrawn or closed, only the supervisors may see them, also after stating a reason."
)


def test_the_consent_names_who_sees_the_id_images_and_is_stored_as_shown(en_client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    page = en_client.get(reverse("tickets:new", args=[appeal_type.code])).content.decode()
    assert WHO_SEES in page
    assert "seen only by the agents deciding the appeal" not in page
    assert "until an agent takes it on" not in page  # the interim rule, replaced by need-to-know
    chinese = en_client.get(reverse("tickets:new", args=[appeal_type.code]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "其他工作人员必须先说明理由" in chinese and "只有主管可以查看，且同样须先说明理由" in chinese

    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302
    assert WHO_SEES in Appeal.objects.get().consent_text
