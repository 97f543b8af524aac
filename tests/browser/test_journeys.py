"""The whole journey in a real browser: an appellant on a phone, an agent and a supervisor on
desktops, with a live server, a real Celery worker and a real SMTP server. Screenshots of every step
go to test-artifacts/screenshots/."""

import re

import pytest
from django.contrib.auth import get_user_model

from evidence.models import Evidence
from tests import files
from tests.browser.conftest import preview_widths, second_step_passed
from tests.conftest import one_recovery_code
from tests.text import zh
from tests.tickets.factories import VALID_ID_NUMBER, AgentFactory, SupervisorFactory
from tickets.models import Appeal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-demo-password-42"


def staff(factory, username):
    user = factory(username=username, email=f"{username}@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("[name=username]", username)
    page.fill("[name=password]", PASSWORD)
    code = one_recovery_code(get_user_model().objects.get(username=username))
    page.click("main button[type=submit]")
    second_step_passed(page, code)
    return page


def act(page, action, comment=None, *, code_matches=False, requested_reason=None):
    form = page.locator(f"form[data-action='{action}']")
    if requested_reason is not None:  # a request for information names a file and its reason
        form.locator("select[name=request_reason]").first.select_option(requested_reason)
    if comment is not None:
        form.locator("textarea").fill(comment)
    if code_matches:  # the paper in the handheld photo shows the appeal's code
        form.locator("[name=code_matches]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def link_in(message, base) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(re.escape(base) + r"/appeals/status/\S+/", text).group(0)


def test_appeal_journey_from_phone_to_second_approval(
    browser, phone, live_server, appeal_types, reason_codes, celery_worker, smtp_server, settings, tmp_path, screenshot
):
    settings.SITE_URL = live_server.url
    staff(AgentFactory, "agent_wu")
    staff(SupervisorFactory, "supervisor_li")
    photos = {}
    for index, kind in enumerate(("id_front", "id_back", "id_handheld", "recharge_record", "device_log"), start=1):
        photos[kind] = tmp_path / f"{kind}.jpg"
        photos[kind].write_bytes(files.photo_bytes(2600, 1800, seed=index))

    # 1. The appellant, on a phone, in Chinese, files account_recovery with five files.
    page = phone
    cdp = page.context.new_cdp_session(page)  # a phone's upload speed, so progress can be seen
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 40, "downloadThroughput": 4_000_000, "uploadThroughput": 1_500_000},
    )
    page.goto(f"{live_server.url}/appeals/new/account_recovery/")
    form_code = page.locator("[data-fresh-photo-code]").inner_text().strip()  # written on the paper in the photo
    for name, value in {
        "contact_email": "zhao.lei@example.com",
        "account_identifier": "zhaolei_2020",
        "registered_phone": "13800138000",
        "id_number": VALID_ID_NUMBER,
        "letter_background": "2026年11月起自助解绑一直提示“解绑无效”。",
        "letter_steps_taken": "自助解绑三次。",
        "letter_request": "请恢复账户控制权。",
        "recharge-0-order_number": "TX-2026-0001",
        "recharge-0-amount": "30",
        "recharge-0-paid_at": "2026-11-01T20:15",
        "device-0-seen_at": "2026-10-30T08:00",
        "device-0-device_model": "Xiaomi 14",
    }.items():
        page.fill(f"[name='{name}']", value)
    page.check("[name=consent_id_images]")
    for kind, path in photos.items():
        page.set_input_files(f"[name=evidence_{kind}]", str(path))
    assert page.locator("[data-previews] img").count() == 5  # previews of what will be sent
    assert all(width > 0 for width in preview_widths(page)), "a preview did not render"
    screenshot(page, "journey-01-form-with-previews")
    page.get_by_role("button", name=zh("Send my appeal")).click()
    page.wait_for_function("() => [...document.querySelectorAll('[data-file-progress] progress')].some(p => p.value > 0)")
    assert page.locator("[data-file-progress] progress").count() == 5  # per-file progress
    screenshot(page, "journey-02-upload-progress")
    page.wait_for_url("**/appeals/submitted/**", timeout=120_000)
    cdp.send(
        "Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    )
    appeal = Appeal.objects.get()
    screenshot(page, "journey-03-submitted")

    # 2. The acknowledgement arrives; its link opens the status page.
    (acknowledgement,) = smtp_server.wait_for(1)
    page.goto(link_in(acknowledgement, live_server.url))
    assert appeal.reference in page.content()
    screenshot(page, "journey-04-status")

    # 3. An agent claims it, views the evidence, asks for more.
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=5, timeout=120)
    agent = sign_in(browser, live_server, "agent_wu")
    agent.click(f"a[href='/desk/appeals/{appeal.reference}/']")
    act(agent, "claim")
    assert agent.locator("[data-state=in_review]").count() == 1
    with agent.expect_popup() as viewer:
        agent.locator("#evidence a:has(img)").first.click()
    viewer.value.wait_for_load_state()
    screenshot(viewer.value, "journey-05-evidence-viewer")
    viewer.value.close()
    act(agent, "request_info", "请补充一张更清晰的身份证反面照片。", requested_reason="id_back_blurred")
    screenshot(agent, "journey-06-agent-requested-info")

    # 4. The appellant answers from the status page with a new photo.
    request_mail = smtp_server.wait_for(2)[1]
    page.goto(link_in(request_mail, live_server.url))
    assert page.locator("[data-requested-slot=id_back]").inner_text() == "身份证反面：身份证反面照片模糊"
    page.fill("[name=message]", "已补充清晰照片。")
    page.set_input_files("[name=evidence_id_back]", str(photos["id_back"]))  # the slot asked for
    page.get_by_role("button", name=zh("Send my answer")).click()
    page.wait_for_selector("[data-state=in_review]")  # sent by the upload script, which then reloads the page
    screenshot(page, "journey-07-appellant-answered")
    appeal.refresh_from_db()
    assert appeal.state == "in_review"

    # 5. The agent verifies the evidence and proposes approval.
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=6, timeout=120)
    agent.reload()
    while agent.locator("#evidence form button.btn-outline-success").count():
        agent.locator("#evidence form button.btn-outline-success").first.click()
        agent.wait_for_load_state()
    code = Appeal.objects.get(pk=appeal.pk).fresh_photo_code
    assert code == form_code  # the code the form showed, under the handheld photo in the console
    assert agent.locator("#evidence [data-fresh-photo-code]").inner_text().endswith(code)
    act(agent, "propose_approval", "ID and records match the account.", code_matches=True)
    assert agent.locator("[data-state=pending_approval]").count() == 1
    screenshot(agent, "journey-08-proposed")

    # 6. A supervisor gives the second approval, then looks at the metrics.
    supervisor = sign_in(browser, live_server, "supervisor_li")
    supervisor.goto(f"{live_server.url}/desk/?queue=pending_mine")
    supervisor.click(f"a[href='/desk/appeals/{appeal.reference}/']")
    act(supervisor, "second_approve", "实名认证已解除，请重新登录。", code_matches=True)
    assert supervisor.locator("[data-state=approved]").count() == 1
    screenshot(supervisor, "journey-09-approved")
    supervisor.goto(f"{live_server.url}/desk/metrics/")
    assert supervisor.locator("[data-chart] svg").count() >= 3
    screenshot(supervisor, "journey-10-metrics")

    # The agent was told of the answer; the appellant of the decision.
    *_sent, notice, decision = smtp_server.wait_for(4)
    assert notice["To"] == "agent_wu@example.com" and appeal.reference in notice["Subject"]
    assert decision["To"] == "zhao.lei@example.com"
    assert appeal.reference in decision["Subject"]
    assert Evidence.objects.filter(appeal=appeal, status="ready").count() == 6
