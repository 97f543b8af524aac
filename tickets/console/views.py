"""The agent console `/desk/`: queues, one appeal, and the actions on it."""

import csv
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from evidence.access import evidence_reason_allowed, evidence_reason_granted_until, evidence_seen_without_reason
from evidence.reasons import evidence_reason_grant
from supportdesk.client import client_ip
from tickets.assignment.selectors import agent_load_list, agent_open_held, agent_profile_of
from tickets.assignment.services import agent_duty_set
from tickets.canned_replies import canned_replies_for
from tickets.console.forms import (
    QUEUE_SORTS,
    TEXT_MAX_CHARS,
    ActionForm,
    AuditExportForm,
    AvailabilityForm,
    BulkForm,
    CommentForm,
    EvidenceReasonForm,
    OutcomeForm,
    QueueFilterForm,
    ReleaseAgainForm,
)
from tickets.console.presentation import options_html, sla_badges
from tickets.fresh_photo import appeal_needs_code_match
from tickets.labels import staff_state_choices, staff_state_label
from tickets.models import DECIDED_STATES, AppealState, FulfilmentState, Outcome, Risk, RiskSignal, evidence_kind_label
from tickets.reference import agents_cached, appeal_types_cached
from tickets.reports.audit import AUDIT_ROWS, audit_csv_lines, audit_export_record, audit_json_lines
from tickets.reports.exports import csv_safe, metrics_csv_rows, records_csv_lines
from tickets.reports.fraud import fraud_signals
from tickets.reports.metrics import metrics_compute
from tickets.reports.reasons import reason_code_counts, reason_code_csv_rows
from tickets.risk.services import risk_explanation, risk_is_high
from tickets.roles import is_agent, is_supervisor
from tickets.selectors import (
    QUEUES,
    access_appeal,
    access_appeal_list,
    access_evidence,
    appeal_list_for_agent,
    appeal_records_page,
    appeal_security_hold,
    fulfilment_overdue_before,
    queues_for,
    user_names,
)
from tickets.services.agent import (
    ACTIONS,
    APPROVING_ACTIONS,
    appeal_act,
    appeal_actions_for,
    appeal_answer_seen,
    appeal_bulk,
    appeal_comment,
    evidence_set_verified,
    may_reply,
    may_verify,
)
from tickets.services.errors import WorkflowError
from tickets.services.fulfilment import appeal_release_again, may_release_again
from tickets.services.outcome import appeal_outcome_record
from tickets.services.presence import BEAT_SECONDS as PRESENCE_BEAT_SECONDS
from tickets.services.reasons import reason_codes_for_console
from tickets.services.staff_sessions import staff_sign_out_everywhere

PAGE_SIZES = ("25", "50", "100", "200")


def agent_required(view):
    """Signed-in staff in the agents or supervisors group; others get 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_agent(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@agent_required
def queue(request):
    code = request.GET.get("queue", "open")
    if code not in QUEUES or (QUEUES[code].supervisors_only and not is_supervisor(request.user)):
        code = "open"
    filters = QueueFilterForm(request.GET or None)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    size = request.GET.get("size", "50")
    size = int(size) if size in PAGE_SIZES else 50
    page = appeal_list_for_agent(user=request.user, queue=code, filters=cleaned, after=request.GET.get("after"), size=size)
    params = request.GET.copy()
    params.pop("after", None)
    agents = [(str(a.pk), a.username) for a in agents_cached()]
    types = appeal_types_cached()
    states = staff_state_choices()
    choices = {
        "appeal_type": [(str(pk), t.name) for pk, t in types.items()],
        "state": states,
        "assignee": agents,
        "risk": [(str(v), str(label)) for v, label in Risk.choices],
        "sort": [(v, str(label)) for v, label in QUEUE_SORTS if v],
    }
    context = {
        "queues": queues_for(request.user),
        "current": QUEUES[code],
        "filters": filters,
        # The selects' options, built in Python from these lists (cached, or constant), not by
        # form widgets or template loops per option.
        "options": {name: options_html(pairs, filters.data.get(name)) for name, pairs in choices.items()},
        "agent_options": options_html(agents),
        "page": page,
        "rows": _queue_rows(page.rows, types, dict(agents), dict(states)),
        "params": params.urlencode(),
        "is_supervisor": is_supervisor(request.user),
        "now": timezone.now(),
    }
    return render(request, "desk/queue.html", context)


@dataclass(frozen=True)
class QueueRow:
    reference: str
    html: str


QUEUE_ROW_HTML = (
    '<tr data-appeal="{ref}"><td><input class="form-check-input" type="checkbox" name="references"'
    ' value="{ref}" aria-label="{select} {ref}"></td>'
    '<td><a class="font-monospace" href="{prefix}{ref}/">{ref}</a>{badges}</td>'
    "<td>{type_name}{risk}</td>"
    '<td><span class="badge {score_style}" data-risk-score="{score}">{score}</span>'
    '<div class="small text-secondary">{reasons}</div></td><td>{state}</td><td>{assignee}</td><td>{sla}</td>'
    '<td class="small text-secondary">{created}</td></tr>'
)


REASONS_SHOWN = 2  # the row names the first signals; the appeal's page lists them all, with their points


def _queue_rows(appeals, types, agent_names: dict[str, str], state_labels: dict[str, str]) -> list[QueueRow]:
    """The page's rows, each built as one piece of HTML by `format_html` (which escapes every value):
    a row renders up to 200 times a page, and the template engine spent more time on them (about 15
    variables each) than the database did.
    Labels are translated once per request, not once per row."""
    sla_badge, zone = sla_badges(timezone.now()), timezone.get_current_timezone()
    # An appeal may still be assigned to someone who is no longer an agent: one query for those.
    others = {a.assignee_id for a in appeals if a.assignee_id and str(a.assignee_id) not in agent_names}
    if others:
        agent_names = {**agent_names, **user_names(others)}
    risks = {value: format_html(' <span class="badge text-bg-light border">{}</span>', label) for value, label in Risk.choices}
    risks[Risk.LOW] = ""
    select = _("Select")
    cooling = format_html(' <span class="badge text-bg-warning">{}</span>', _("cooling-off"))
    escalated = format_html(' <span class="badge text-bg-danger">{}</span>', _("escalated"))
    answered = format_html(' <span class="badge text-bg-info" data-answered>{}</span>', _("appellant answered"))
    failed = format_html(' <span class="badge text-bg-danger" data-fulfilment="failed">{}</span>', _("fulfilment failed"))
    overdue = format_html(' <span class="badge text-bg-warning" data-fulfilment="overdue">{}</span>', _("fulfilment overdue"))
    takeover = format_html(' <span class="badge text-bg-danger" data-takeover>{}</span>', _("suspected takeover"))
    held = _("held until %(when)s")
    overdue_before = fulfilment_overdue_before()
    threshold, signal_labels = settings.RISK_HIGH_THRESHOLD, {kind: str(label) for kind, label in RiskSignal.choices}
    score_high, score_some, score_none = "text-bg-danger", "text-bg-warning", "text-bg-light border"
    prefix = reverse("desk:appeal", args=["REF"]).removesuffix("REF/")
    rows = []
    for a in appeals:
        html = format_html(  # every value escaped here, the badges built safe above
            QUEUE_ROW_HTML,
            ref=a.reference,
            select=select,
            prefix=prefix,
            badges=format_html(
                "{}{}{}{}{}",
                takeover if a.takeover_suspected else "",
                cooling if a.cooling_off_of_id else "",
                escalated if a.state == AppealState.ESCALATED else "",
                answered if a.answered_at is not None else "",
                failed
                if a.fulfilment == FulfilmentState.FAILED
                else overdue
                if a.fulfilment == FulfilmentState.RELEASED and a.released_at <= overdue_before
                else format_html(
                    ' <span class="badge text-bg-info" data-fulfilment="held">{}</span>',
                    held % {"when": f"{a.hold_until.astimezone(zone):%m-%d %H:%M}"},
                )
                if a.fulfilment == FulfilmentState.HELD
                else "",
            ),
            type_name=types[a.appeal_type_id].name,
            risk=risks[a.appeal_type.risk],
            score=a.risk_score,
            score_style=score_high if a.risk_score >= threshold else score_some if a.risk_score else score_none,
            reasons=", ".join(signal_labels.get(item.get("kind"), "") for item in a.risk_signals[:REASONS_SHOWN]),
            state=state_labels[a.state],
            assignee=agent_names[str(a.assignee_id)] if a.assignee_id else "—",
            sla=sla_badge(a),
            created=f"{a.created_at.astimezone(zone):%m-%d %H:%M}",
        )
        rows.append(QueueRow(reference=a.reference, html=html))
    return rows


@agent_required
@require_POST
def bulk(request):
    form = BulkForm(request.POST)
    references = request.POST.getlist("references")[:200]
    if not form.is_valid() or not references:
        messages.error(request, _("Tick at least one appeal and choose what to do."))
        return redirect(_safe_next(request) or "desk:queue")
    if form.cleaned_data["action"] == "assign" and not form.cleaned_data["assignee"]:
        messages.error(request, _("Choose an agent."))
        return redirect(_safe_next(request) or "desk:queue")
    appeals = access_appeal_list(user=request.user, references=references)
    done, problems = appeal_bulk(
        appeals=appeals, actor=request.user, action=form.cleaned_data["action"], assignee=form.cleaned_data["assignee"]
    )
    if done:
        messages.success(request, _("%(count)d appeal(s) updated.") % {"count": done})
    for problem in problems:
        messages.error(request, problem)
    return redirect(_safe_next(request) or "desk:queue")


def _safe_next(request) -> str:
    """The user-supplied `next`, only when it is a page of this console on this site; else empty."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if safe and target.startswith("/desk/") and target.isprintable() else ""


@agent_required
def appeal_detail(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference)
    answered = appeal.answered_at is not None and appeal_answer_seen(appeal=appeal, user=request.user)
    evidence = list(appeal.evidence.all())
    required = appeal.appeal_type.required_evidence
    actions = appeal_actions_for(appeal=appeal, user=request.user)
    # Need-to-know: those who see the files as part of their work, or a reason stated, still valid.
    seen = evidence_seen_without_reason(user=request.user, appeal=appeal)
    reason_until = None if seen else evidence_reason_granted_until(user=request.user, appeal=appeal)
    context = {
        "appeal": appeal,
        "state_label": staff_state_label(appeal.state),
        # Shown once, when the assignee opens an appeal the appellant answered since they last looked.
        "answered": answered,
        "evidence": evidence,
        "missing_kinds": [evidence_kind_label(k) for k in required if k not in {e.kind for e in evidence}],
        "events": list(appeal.events.all()),
        "actions": actions,
        # Only "resume" asks for an agent: query the list only when it is on the page.
        "agents": agents_cached() if any(a.needs_assignee for a in actions) else [],
        "comment_form": CommentForm(),
        # The reason codes the request and rejection forms offer (tickets/services/reasons.py).
        "reasons": reason_codes_for_console(
            request=any(a.name == "request_info" for a in actions), rejection=any(a.name == "reject" for a in actions)
        ),
        "text_max_chars": TEXT_MAX_CHARS,
        # Offered in the reply box's picker (templates/desk/_canned_replies.html), filled for this appeal.
        "canned_replies": canned_replies_for(appeal=appeal),
        "presence_seconds": PRESENCE_BEAT_SECONDS,
        # A page of the records (`?records=<n>`), never all of them.
        "records": appeal_records_page(appeal=appeal, page=request.GET.get("records")),
        "blockers": appeal.approval_blockers(),
        # The approving actions that ask the agent to confirm the code in the handheld photo.
        "code_match_actions": APPROVING_ACTIONS if appeal_needs_code_match(appeal) else (),
        # Why the second-approval button is missing for the supervisor who proposed the approval.
        "proposed_by_you": appeal.state == AppealState.PENDING_APPROVAL and appeal.proposed_by_id == request.user.pk,
        # What this user may do besides the transitions (the services check the same).
        "can_verify": may_verify(appeal=appeal, user=request.user),
        "can_reply": may_reply(appeal=appeal, user=request.user),
        "can_view_evidence": seen or reason_until is not None,
        "evidence_reason_until": reason_until,
        "can_state_reason": not seen and reason_until is None and evidence_reason_allowed(user=request.user, appeal=appeal),
        "reason_form": EvidenceReasonForm(),
        "reason_minutes": settings.EVIDENCE_REASON_GRANT_MINUTES,
        "replaced_ids": {item.replaces_id for item in evidence if item.replaces_id},
        "signals": fraud_signals(appeal),
        "risk_lines": risk_explanation(appeal),  # the stored score's explanation, with each signal's points
        "risk_high": risk_is_high(appeal.risk_score),
        "can_release_again": may_release_again(appeal=appeal, user=request.user),
        # The security hold: until when, who was told, who objected (tickets/services/hold.py).
        "security_hold": appeal_security_hold(appeal=appeal),
        # Supervisors record what a decided appeal turned out to be (tickets/services/outcome.py).
        "can_record_outcome": appeal.state in DECIDED_STATES and is_supervisor(request.user),
        "outcomes": Outcome.choices,
        "now": timezone.now(),
    }
    return render(request, "desk/appeal.html", context)


def _form_refused(request, form, reference: str):
    """An action's form did not validate: a comment over its limit says so; anything else in the form
    is not something a person typed."""
    problems = [*form.errors.get("comment", []), *form.non_field_errors()]
    messages.error(request, " ".join(problems) or _("The action could not be read; please try again."))
    return redirect("desk:appeal", reference=reference)


@agent_required
@require_POST
def appeal_release_again_view(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    form = ReleaseAgainForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form, reference)
    try:
        appeal_release_again(appeal=appeal, actor=request.user, comment=form.cleaned_data["comment"])
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(reference)s: released to the platform again.") % {"reference": appeal.reference})
    return redirect(reverse("desk:appeal", args=[reference]) + "#fulfilment")


@agent_required
@require_POST
def appeal_outcome_view(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form, reference)
    try:
        appeal_outcome_record(appeal=appeal, actor=request.user, **form.cleaned_data)
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(reference)s: outcome recorded.") % {"reference": appeal.reference})
    return redirect(reverse("desk:appeal", args=[reference]) + "#outcome")


@agent_required
@require_POST
def appeal_action(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    form = ActionForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form, reference)
    data = form.cleaned_data
    try:
        appeal_act(
            appeal=appeal,
            actor=request.user,
            action=data["action"],
            comment=data["comment"],
            assignee=data["assignee"],
            expected_state=data["expected_state"] or None,
            code_matches=data["code_matches"],
            requested=data["requested"],
            reason_code=data["reason_code"],
        )
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ACTIONS[data["action"]].done % {"reference": appeal.reference})
    return redirect("desk:appeal", reference=reference)


@agent_required
@require_POST
def appeal_comment_add(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            appeal_comment(appeal=appeal, actor=request.user, text=form.cleaned_data["text"], public=form.cleaned_data["public"])
        except WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Reply sent.") if form.cleaned_data["public"] else _("Note added."))
    else:
        messages.error(request, " ".join(form.errors.get("text", [])) or _("Write something first."))
    return redirect("desk:appeal", reference=reference)


@agent_required
@require_POST
def evidence_reason_add(request, reference: str):
    """Need-to-know: a staff member states why they must see the appeal's files, then sees them."""
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    form = EvidenceReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("reason", [])))
        return redirect(reverse("desk:appeal", args=[reference]) + "#evidence")
    try:
        grant = evidence_reason_grant(appeal=appeal, user=request.user, reason=form.cleaned_data["reason"])
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        until = timezone.localtime(grant.expires_at)
        messages.success(request, _("Reason recorded: you may see these files until %(until)s.") % {"until": f"{until:%H:%M}"})
    return redirect(reverse("desk:appeal", args=[reference]) + "#evidence")


@agent_required
@require_POST
def evidence_verify(request, reference: str, evidence_id):
    evidence = access_evidence(user=request.user, reference=reference, evidence_id=evidence_id)
    try:
        evidence_set_verified(evidence=evidence, actor=request.user, verified=request.POST.get("verified") == "1")
    except WorkflowError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("desk:appeal", args=[reference]) + "#evidence")


GREEN, RED, BLUE = "#198754", "#dc3545", "#0d6efd"


def _bars(
    key: str, title: str, label_heading: str, rows: list[dict], label, parts: list[tuple[str, str, str]], note: str = ""
) -> dict:
    """A chart: one bar per row, split into coloured segments (key, colour, heading), widths relative
    to the largest total, with the numbers as table columns beside it."""
    totals = [sum(row[k] or 0 for k, _c, _h in parts) for row in rows]
    largest = max(totals, default=0) or 1
    bars = []
    for row, total in zip(rows, totals, strict=True):
        x, segments = 0.0, []
        for k, colour, _heading in parts:
            width = 100.0 * (row[k] or 0) / largest
            segments.append({"x": round(x, 2), "width": round(width, 2), "colour": colour, "value": row[k]})
            x += width
        bars.append({"label": label(row), "segments": segments, "total": total})
    return {
        "key": key,
        "title": title,
        "label_heading": label_heading,
        "note": note,
        "bars": bars,
        "headings": [heading for _k, _c, heading in parts],
    }


@agent_required
def metrics(request):
    if not is_supervisor(request.user):
        raise PermissionDenied
    data = metrics_compute()
    reasons = reason_code_counts(since=data.since)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="supportdesk-metrics.csv"'
        writer = csv.writer(response)
        for row in metrics_csv_rows(data) + reason_code_csv_rows(reasons):
            writer.writerow([csv_safe(cell) for cell in row])
        return response
    compliance = [("met", GREEN, _("Met")), ("breached", RED, _("Breached"))]
    decided = pgettext("list separator", ", ").join(f"{r['assignee__username']} {r['decided_7d']}" for r in data.workload) or "—"
    charts = [
        _bars(
            "compliance-by-type",
            _("Compliance by type"),
            _("Type"),
            data.compliance_by_type,
            lambda r: r["type"].name,
            compliance,
        ),
        _bars(
            "compliance-by-week",
            _("Compliance by week"),
            _("Week of"),
            data.compliance_by_week,
            lambda r: r["week"].strftime("%Y-%m-%d"),
            compliance,
        ),
        _bars(
            "backlog",
            _("Open appeals by age"),
            _("Age"),
            data.backlog,
            lambda r: _("%(low)d–%(high)d h") % r if r["high"] else _("> %(low)d h") % r,
            [("count", BLUE, _("Open"))],
        ),
        _bars(
            "breaches-by-day",
            _("Breaches per day (30 days)"),
            _("Day"),
            data.breaches_by_day,
            lambda r: r["day"].strftime("%m-%d"),
            [("count", RED, _("Breaches"))],
        ),
        _bars(
            "workload",
            _("Workload per agent"),
            _("Agent"),
            data.workload,
            lambda r: r["assignee__username"],
            [("overdue", RED, _("Overdue")), ("open", BLUE, _("Open"))],
            note=_("Bars: overdue (red) and open (blue). Decided in the last 7 days: %(decided)s") % {"decided": decided},
        ),
    ]
    context = {"metrics": data, "charts": charts, "reason_counts": reasons, **_satisfaction_context(data)}
    return render(request, "desk/metrics.html", context)


def _satisfaction_context(data) -> dict:
    """The metrics page's satisfaction tables: (title, key, rows) each."""
    groups = [("by_agent", _("By deciding agent")), ("by_type", _("By appeal type")), ("by_outcome", _("By decision"))]
    return {"satisfaction_groups": [(title, key, data.satisfaction.get(key, [])) for key, title in groups]}


@agent_required
def appeal_records_csv(request, reference: str):
    """The appeal's recharge and login-device records as CSV, with formula-like cells made inert.
    Streamed row by row from the database, so its size never sits in memory."""
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    response = StreamingHttpResponse(records_csv_lines(appeal), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{appeal.reference}-records.csv"'
    return response


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every session of the signed-in user, this one included (a stolen cookie stops working too)."""
    user = request.user
    staff_sign_out_everywhere(user=user, actor=user, ip_address=client_ip(request))
    logout(request)
    messages.success(request, _("You were signed out everywhere: every session of your account has ended."))
    return redirect("login")


def _supervisor_required(request) -> None:
    if not is_supervisor(request.user):
        raise PermissionDenied


@agent_required
def audit(request):
    """The audit export's form: supervisors and administrators."""
    _supervisor_required(request)
    today = timezone.localdate()
    form = AuditExportForm(initial={"since": today.replace(day=1), "until": today, "what": "access", "format": "csv"})
    return render(request, "desk/audit.html", {"form": form})


AUDIT_CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


@agent_required
def audit_export(request):
    """The evidence access log, the appeals' events or the staff's security events for a range of days,
    streamed (tickets/reports/audit.py). A bad choice: the form again with its message, status 400."""
    _supervisor_required(request)
    form = AuditExportForm(request.GET)
    if not form.is_valid():
        return render(request, "desk/audit.html", {"form": form}, status=400)
    what, file_format = form.cleaned_data["what"], form.cleaned_data["format"]
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    audit_export_record(
        actor=request.user, what=what, file_format=file_format, since=since, until=until, ip_address=client_ip(request)
    )
    start, end = form.moments()
    rows = AUDIT_ROWS[what](start=start, end=end)
    lines = audit_csv_lines(what, rows) if file_format == "csv" else audit_json_lines(rows)
    response = StreamingHttpResponse(lines, content_type=AUDIT_CONTENT_TYPES[file_format])
    filename = f"supportdesk-{what}-{since.isoformat()}-{until.isoformat()}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@agent_required
def availability(request):
    """The agent's own availability for automatic assignment: on duty or away (POST switches it), with
    their capacity and skills as the administrators set them."""
    status = 200
    if request.method == "POST":
        form = AvailabilityForm(request.POST)
        if form.is_valid():
            on_duty = form.cleaned_data["on_duty"]
            agent_duty_set(user=request.user, on_duty=on_duty)
            messages.success(
                request,
                _("You are on duty: new appeals may be assigned to you.")
                if on_duty
                else _("You are away: no new appeals are assigned to you automatically."),
            )
            return redirect("desk:availability")
        messages.error(request, " ".join(form.errors.get("on_duty", [])))
        status = 400
    context = {
        "profile": agent_profile_of(user=request.user),
        "open_held": agent_open_held(user=request.user),
        "automatic": settings.ASSIGNMENT_AUTOMATIC,
    }
    return render(request, "desk/availability.html", context, status=status)


@agent_required
def agent_load(request):
    """Supervisors: every agent's load, availability, capacity and skills. (To assign by hand, an override:
    the queue's "Assign to".)"""
    _supervisor_required(request)
    context = {
        "agents": agent_load_list(),
        "automatic": settings.ASSIGNMENT_AUTOMATIC,
        "strategy": settings.ASSIGNMENT_STRATEGY,
    }
    return render(request, "desk/load.html", context)
