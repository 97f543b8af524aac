"""The consent to process ID images says who sees them, exactly as evidence access decides it."""

import pytest
from django.urls import reverse

from tests.tickets.factories import submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db

WHO_SEES = (
    "and the other files I send with this appeal (all personal data) to verify my identity for this appeal only, "
    "stored privately. While the appeal is open, the agent handling it, whoever proposes or gives its approval, "
    "and the supervisors see them; other staff must first state a reason (recorded and reported to the "
    "supervisors) and may then see them for 60 minutes. Once it is decided, withdrawn or closed, only "
    "supervisors may see them, after stating a reason."
)


def test_the_consent_names_who_sees_the_id_images_and_is_stored_as_shown(en_client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    page = en_client.get(reverse("tickets:new", args=[appeal_type.code])).content.decode()
    assert WHO_SEES in page
    assert "seen only by the agents deciding the appeal" not in page
    assert "until an agent takes it on" not in page  # the interim rule, replaced by need-to-know
    chinese = en_client.get(reverse("tickets:new", args=[appeal_type.code]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "其他员工须说明理由" in chinese and "仅主管说明理由后可查看" in chinese

    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302
    assert WHO_SEES in Appeal.objects.get().consent_text
