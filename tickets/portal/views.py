"""Public pages: appeal types, the appeal form, confirmation, tracking look-up and the status page."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from evidence.access import appellant_grant, appellant_grant_held
from supportdesk.client import client_ip, client_ip_key
from supportdesk.ratelimits import attempt_count, attempts_used_up
from tickets.models import Appeal, AppealEvent, AppealState
from tickets.portal.forms import (
    AppealSubmissionForm,
    AppellantEvidenceForm,
    EvidenceReplaceForm,
    HoldObjectionForm,
    IdImagesDeleteForm,
    SatisfactionForm,
    TrackForm,
    WithdrawForm,
)
from tickets.selectors import (
    FILE_VIEWS_SHOWN,
    appeal_for_submitter,
    appeal_for_tracking_token,
    appeal_type_get_active,
    appeal_type_list_active,
    evidence_views_for_appellant,
)
from tickets.services.appellant import (
    appeal_may_reopen,
    appeal_provide_info,
    appeal_reopen,
    appeal_tracking_link_request,
    appeal_withdraw,
    evidence_replace,
)
from tickets.services.errors import WorkflowError
from tickets.services.hold import (
    ObjectionLinkExpired,
    ObjectionLinkInvalid,
    account_masked,
    hold_objection_record,
    objection_link_state,
    objection_notice_read,
)
from tickets.services.intake import appeal_submit
from tickets.services.reasons import rejection_reason_of, requested_files_open
from tickets.services.rights import (
    appeal_data_export,
    appeal_id_images_delete,
    appeal_tracking_links_revoke,
    id_images_delete_refusal,
    id_images_left,
)
from tickets.services.satisfaction import (
    SatisfactionLinkExpired,
    SatisfactionLinkInvalid,
    satisfaction_invitation_url,
    satisfaction_link_open,
    satisfaction_rate,
    satisfaction_rating_for,
)
from tickets.tracking import TrackingLinkExpired, TrackingLinkInvalid, tracking_token_make, tracking_token_open

from .state_explained import appeal_state_explained


def _rate(setting_name: str):
    return lambda group, request: getattr(settings, setting_name)


def _track_reference_key(group, request) -> str:
    return request.POST.get("reference", "").strip().upper() or "-"


_TRACK_PER_REFERENCE = {"key": _track_reference_key, "rate": _rate("RATELIMIT_TRACK_PER_REFERENCE")}

# The references this browser has filed: only it is shown their confirmation page.
SUBMITTED_SESSION_KEY = "tickets.submitted_references"
SUBMITTED_REMEMBERED = 20


def rate_limited(request, exception=None):
    return render(request, "tickets/rate_limited.html", status=429)


def home(request):
    appeal_types = appeal_type_list_active()
    return render(request, "tickets/home.html", {"appeal_types": appeal_types})


@require_http_methods(["GET", "POST"])
@ratelimit(key=client_ip_key, rate=_rate("RATELIMIT_SUBMIT_PER_IP"), method="POST", block=True)
def appeal_new(request, type_code: str):
    appeal_type = appeal_type_get_active(code=type_code)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "POST":
        form = AppealSubmissionForm(appeal_type=appeal_type, data=request.POST, files=request.FILES)
        appeal = None
        if form.is_valid():
            try:
                appeal = appeal_submit(
                    appeal_type=appeal_type,
                    fields=form.appeal_fields,
                    id_number=form.appeal.cleaned_data["id_number"],
                    recharge_rows=form.recharge_rows,
                    device_rows=form.device_rows,
                    files=form.uploads.files_to_store(),
                    ip=client_ip(request),
                )
            except ValidationError as refused:  # the velocity cap, counted again under its lock
                form.appeal.add_error(None, refused)
        if appeal is not None:
            submitted = request.session.get(SUBMITTED_SESSION_KEY, [])
            request.session[SUBMITTED_SESSION_KEY] = [*submitted, appeal.reference][-SUBMITTED_REMEMBERED:]
            if wants_json:  # the page's upload script: it navigates there itself
                return JsonResponse({"redirect": reverse("tickets:submitted", args=[appeal.reference])})
            return redirect("tickets:submitted", reference=appeal.reference)
        if wants_json:  # the page keeps the form and the chosen files; only what failed is redone
            return JsonResponse({"errors": form.errors_by_input_name(), **form.fresh_photo_reissued}, status=400)
        messages.error(request, _("Your appeal was not sent yet: please correct the fields marked below."))
        status = 400
    else:
        form = AppealSubmissionForm(appeal_type=appeal_type)
        status = 200
    context = {"appeal_type": appeal_type, "form": form, "limits": _upload_limits()}
    return render(request, "tickets/appeal_form.html", context, status=status)


def _upload_limits() -> dict:
    return {
        "max_files": settings.EVIDENCE_MAX_FILES,
        "total_bytes": settings.EVIDENCE_MAX_TOTAL_BYTES,
        "image_bytes": settings.EVIDENCE_MAX_IMAGE_BYTES,
        "csv_bytes": settings.EVIDENCE_MAX_CSV_BYTES,
        "total": filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES),
        "image": filesizeformat(settings.EVIDENCE_MAX_IMAGE_BYTES),
        "csv": filesizeformat(settings.EVIDENCE_MAX_CSV_BYTES),
        "megapixels": settings.EVIDENCE_MAX_PIXELS // 1_000_000,
    }


def appeal_submitted(request, reference: str):
    """Only for the browser that filed it; to anyone else, the same 404 as a reference that does not exist,
    so the page cannot be used to learn which references exist."""
    appeal = appeal_for_submitter(submitted=request.session.get(SUBMITTED_SESSION_KEY, []), reference=reference)
    return render(request, "tickets/appeal_submitted.html", {"appeal": appeal})


@require_http_methods(["GET", "POST"])
@ratelimit(key=client_ip_key, rate=_rate("RATELIMIT_TRACK_PER_IP"), method="POST", block=True)
def appeal_track(request):
    """Per address, every look-up counts. Per reference, only failed ones do (django-ratelimit with an
    explicit `increment`): someone who knows a reference cannot use up its limit and lock out the real
    appellant. A match counts in a twin group instead, so both outcomes do the same work."""
    form = TrackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if attempts_used_up(request, group="tracking-failures", **_TRACK_PER_REFERENCE):
            return rate_limited(request)
        lookup = {"reference": form.cleaned_data["reference"], "email": form.cleaned_data["email"]}
        matched = appeal_tracking_link_request(**lookup)
        attempt_count(request, group="tracking-matches" if matched else "tracking-failures", **_TRACK_PER_REFERENCE)
        return render(request, "tickets/track_sent.html")
    return render(request, "tickets/track.html", {"form": form}, status=400 if form.errors else 200)


def _complaint_text() -> str:
    texts = settings.SLA_COMPLAINT_TEXT
    return texts["en"] if (get_language() or "").startswith("en") else texts["zh-hans"]


def _evidence_rows(appeal: Appeal, data, files, replacing: str) -> list[tuple]:
    """Each file with, under a refused one not yet replaced (while the appeal is open), the form that
    replaces it (only the form that was posted is bound), and who viewed it (by role, newest first)."""
    items = list(appeal.evidence.all())
    replaced = {item.replaces_id for item in items if item.replaces_id}
    views = evidence_views_for_appellant(appeal=appeal)
    rows = []
    for item in items:
        form = None
        if appeal.is_open and item.status == "rejected" and item.pk not in replaced:
            bound = str(item.pk) == replacing
            form = EvidenceReplaceForm(data if bound else None, files if bound else None, appeal=appeal, evidence=item)
        rows.append((item, form, item.pk in replaced, views.get(item.pk, [])))
    return rows


def _link_refused(request, refused: TrackingLinkInvalid):
    """The page for a link that does not open its appeal: expired (or made before "sign out other
    devices") 410, otherwise 404."""
    expired = isinstance(refused, TrackingLinkExpired)
    return render(request, "tickets/link_invalid.html", {"expired": expired}, status=410 if expired else 404)


@require_http_methods(["GET", "POST"])
def appeal_status(request, token: str):
    try:
        appeal, link = appeal_for_tracking_token(token=token)
    except TrackingLinkInvalid as refused:
        return _link_refused(request, refused)
    appellant_grant(request, appeal.reference, link.expires_at, link.generation)
    # The answer form names its step "answer": a control named "action" would hide the form's own
    # action (its URL) from the upload script, which reads `form.action`.
    action = (request.POST.get("action") or request.POST.get("answer")) if request.method == "POST" else None
    withdraw_form = WithdrawForm(request.POST if action == "withdraw" else None)
    can_reopen = appeal_may_reopen(appeal=appeal)
    # The upload slots the agent's request asked for, each with its reason (tickets/services/reasons.py).
    requested = requested_files_open(appeal=appeal) if appeal.state == AppealState.AWAITING_INFO else []
    evidence_form = AppellantEvidenceForm(
        request.POST if action in ("provide_info", "reopen") else None,
        request.FILES if action in ("provide_info", "reopen") else None,
        appeal=appeal,
        files_required=can_reopen,
        requested=requested,
    )
    replacing = request.POST.get("evidence", "") if action == "replace" else ""
    evidence_rows = _evidence_rows(appeal, request.POST, request.FILES, replacing)
    if action == "withdraw" and withdraw_form.is_valid():
        try:
            appeal_withdraw(appeal=appeal, comment=withdraw_form.cleaned_data["comment"])
        except WorkflowError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Your appeal has been withdrawn. We have sent you a confirmation e-mail."))
        return redirect("tickets:status", token=token)
    # The answer form's upload script (progress, errors next to the fields) asks for JSON.
    answering_by_script = action in ("provide_info", "reopen") and "application/json" in request.headers.get("Accept", "")
    if action in ("provide_info", "reopen") and evidence_form.is_valid():
        service = appeal_provide_info if action == "provide_info" else appeal_reopen
        try:
            service(appeal=appeal, message=evidence_form.cleaned_data["message"], files=evidence_form.sniffed)
        except WorkflowError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Thank you: we have your answer and your files. The appeal is back with our agents."))
        if answering_by_script:
            return JsonResponse({"redirect": reverse("tickets:status", args=[token])})
        return redirect("tickets:status", token=token)
    if answering_by_script:
        return JsonResponse({"errors": evidence_form.errors_by_input_name()}, status=400)
    replace_form = next((form for _item, form, _done, _views in evidence_rows if form is not None and form.is_bound), None)
    if action == "replace" and replace_form is None:
        messages.error(request, _("This file can no longer be replaced. Here is where your appeal stands now."))
        return redirect("tickets:status", token=token)
    if replace_form is not None and replace_form.is_valid():
        try:
            evidence_replace(appeal=appeal, evidence=replace_form.evidence, upload=replace_form.upload)
        except WorkflowError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Thank you: we have the new file. We check it now and tell you if there is a problem."))
        return redirect("tickets:status", token=token)
    context = {
        "appeal": appeal,
        "token": token,
        "withdraw_form": withdraw_form,
        "evidence_form": evidence_form,
        "can_reopen": can_reopen,
        "evidence_rows": evidence_rows,
        "refused_to_replace": sum(form is not None for _item, form, _done, _views in evidence_rows),
        "file_views_shown": FILE_VIEWS_SHOWN,
        # The appellant's rights: what the last section offers or says it cannot do yet.
        "id_images_left": id_images_left(appeal=appeal),
        "id_images_refusal": id_images_delete_refusal(appeal=appeal),
        "id_images_form": IdImagesDeleteForm(),
        "files_served": appeal.state != AppealState.WITHDRAWN,
        "complaint_text": _complaint_text() if appeal.is_open and appeal.sla_breached else "",
        # What the agent asked, shown with the answer form at the top of the page.
        "info_request": next((e for e in reversed(appeal.public_events) if e.kind == AppealEvent.Kind.REQUEST_INFO), None)
        if appeal.state == AppealState.AWAITING_INFO
        else None,
        "limits": _upload_limits(),
        "requested_files": requested,
        "rejection_reason": rejection_reason_of(appeal=appeal) if appeal.state == AppealState.REJECTED else None,
        # Decided and not yet rated: the status page offers the rating too.
        "rating_url": satisfaction_invitation_url(appeal=appeal),
    }
    question = context["info_request"] and context["info_request"].comment
    context["state_explained"] = appeal_state_explained(state=appeal.state, question_shown=bool(question or requested))
    invalid = withdraw_form.errors or evidence_form.errors or (replace_form is not None and replace_form.errors)
    return render(request, "tickets/appeal_status.html", context, status=400 if invalid else 200)


def _appeal_for_rights(request, token: str) -> Appeal:
    """The appeal of one of the status page's rights actions: its link must be valid and of the
    appeal's current generation (else TrackingLinkInvalid), and this browser must hold the grant that
    link gave it (else 403): a request forged elsewhere, or from a browser signed out, changes nothing."""
    appeal, _link = appeal_for_tracking_token(token=token)
    if not appellant_grant_held(request, appeal):
        raise PermissionDenied
    return appeal


@require_http_methods(["POST"])
def appeal_data_download(request, token: str):
    """Download my data: a zip of the appeal, its records, its public timeline and its processed files.
    POST, so that no link prefetcher or mail scanner builds one."""
    try:
        appeal = _appeal_for_rights(request, token)
    except TrackingLinkInvalid as refused:
        return _link_refused(request, refused)
    archive = appeal_data_export(appeal=appeal)
    filename = f"{appeal.reference}-my-data.zip"
    response = FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["POST"])
def id_images_delete(request, token: str):
    """Delete my ID images, once the appeal is decided, withdrawn or closed and not under legal hold."""
    try:
        appeal = _appeal_for_rights(request, token)
    except TrackingLinkInvalid as refused:
        return _link_refused(request, refused)
    if not IdImagesDeleteForm(request.POST).is_valid():
        messages.error(request, _("Nothing was deleted: tick the box to confirm that your images should be deleted."))
        return redirect(reverse("tickets:status", args=[token]) + "#your-rights")
    try:
        appeal_id_images_delete(appeal=appeal)
    except WorkflowError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Your identity-document images have been deleted. We have sent you a confirmation e-mail."))
    return redirect(reverse("tickets:status", args=[token]) + "#your-rights")


@require_http_methods(["POST"])
def other_devices_sign_out(request, token: str):
    """Sign out other devices: every older link and the browsers that opened one lose the appeal;
    this browser gets a link of the new generation (and its grant), and goes there."""
    try:
        appeal = _appeal_for_rights(request, token)
    except TrackingLinkInvalid as refused:
        return _link_refused(request, refused)
    appeal = appeal_tracking_links_revoke(appeal=appeal)
    fresh = tracking_token_make(appeal.reference, appeal.tracking_generation)
    appellant_grant(request, appeal.reference, tracking_token_open(fresh).expires_at, appeal.tracking_generation)
    messages.success(
        request,
        _("Other devices are signed out: older links to this page no longer work. Bookmark this page to come back to it."),
    )
    return redirect("tickets:status", token=fresh)


@require_http_methods(["GET", "POST"])
@ratelimit(key=client_ip_key, rate=_rate("RATELIMIT_TRACK_PER_IP"), method="POST", block=True)
def hold_objection(request, token: str):
    """The registered contact's link from a security hold notice. GET shows what was asked and one
    button (a mail scanner that opens links must not stop anything); POST stops the release, once."""
    try:
        notice = objection_notice_read(token)
    except ObjectionLinkExpired:
        return render(request, "tickets/hold_objection.html", {"outcome": "expired"}, status=410)
    except ObjectionLinkInvalid:
        return render(request, "tickets/hold_objection.html", {"outcome": "invalid"}, status=404)
    appeal = notice.appeal
    form = HoldObjectionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        done = hold_objection_record(notice=notice, note=form.cleaned_data["note"], ip=client_ip(request))
        context = {"outcome": done.outcome, "appeal": done.appeal, "notice": done.notice}
        return render(request, "tickets/hold_objection.html", {**context, "account": account_masked(appeal.account_identifier)})
    context = {
        "outcome": objection_link_state(appeal=appeal, notice=notice),
        "appeal": appeal,
        "notice": notice,
        "form": form,
        "account": account_masked(appeal.account_identifier),
    }
    return render(request, "tickets/hold_objection.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@ratelimit(key=client_ip_key, rate=_rate("RATELIMIT_TRACK_PER_IP"), method="POST", block=True)
def satisfaction_rate_page(request, token: str):
    """The decision e-mail's rating link. GET shows the form and changes nothing (mail scanners open
    links); POST stores one rating per appeal and decision cycle. In the appellant's language, unless
    this browser chose one with the language switch."""
    template = "tickets/satisfaction.html"
    try:
        link = satisfaction_link_open(token)
    except SatisfactionLinkExpired:
        days = settings.SATISFACTION_LINK_MAX_AGE_DAYS
        return render(request, template, {"outcome": "expired", "satisfaction_link_days": days}, status=410)
    except SatisfactionLinkInvalid:
        return render(request, template, {"outcome": "invalid"}, status=404)
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        translation.activate(link.appeal.language)
        request.LANGUAGE_CODE = translation.get_language()
    context = {"appeal": link.appeal, "decision": link.decision}
    rating = satisfaction_rating_for(link)
    if rating is not None:
        return render(request, template, {**context, "outcome": "already", "rating": rating})
    form = SatisfactionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        rating, stored = satisfaction_rate(link=link, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"])
        return render(request, template, {**context, "outcome": "thanks" if stored else "already", "rating": rating})
    return render(request, template, {**context, "outcome": "ask", "form": form}, status=400 if form.errors else 200)
