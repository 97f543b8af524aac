"""Audit rows, one named writer per event kind (STYLE.md §9, the shape of Saleor's `order/events.py`).
Services call these; nothing else builds an `AppealEvent`.

The agent's and supervisor's workflow actions (`services.agent.ACTIONS`) share one writer,
`appeal_action_event`: the actions are a table, each event's kind is its action's name, and they
differ only in what the table says (public or not)."""

from django.utils import timezone, translation
from django.utils.translation import gettext

from .models import Appeal, AppealEvent, StaffSecurityEvent

APPELLANT, SYSTEM, PLATFORM = "appellant", "system", "platform"  # `AppealEvent.actor_label` when no user acted
ACCOUNT_OWNER = "registered_contact"  # the account's registered contact, through a hold notice's link


def _local(moment) -> str:
    """A moment as the appellant's pages write it: Beijing time (the site's zone), `2026-12-01 14:02`."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _evidence_label(evidence) -> str:
    return f"{evidence.get_kind_display()}: {evidence.original_name}"


def _event(*, appeal: Appeal, kind: str, public: bool, actor=None, actor_label: str = "", **fields) -> AppealEvent:
    """An unsaved event; `actor_label` says who acted when no user did."""
    return AppealEvent(appeal=appeal, kind=kind, actor=actor, actor_label=actor_label, public=public, **fields)


def _create(**fields) -> AppealEvent:
    event = _event(**fields)
    event.save()
    return event


# The appellant's events.


def appeal_submitted_event(*, appeal: Appeal) -> AppealEvent:
    return _create(appeal=appeal, kind=AppealEvent.Kind.SUBMIT, actor_label=APPELLANT, to_state=appeal.state, public=True)


def _transition_event(*, appeal: Appeal, kind: str, from_state: str, public: bool, **fields) -> AppealEvent:
    """An event of a transition the appeal has just made (it is in its new state)."""
    return _create(appeal=appeal, kind=kind, from_state=from_state, to_state=appeal.state, public=public, **fields)


def _appellant_transition_event(*, appeal: Appeal, kind: str, from_state: str, comment: str) -> AppealEvent:
    return _transition_event(appeal=appeal, kind=kind, actor_label=APPELLANT, from_state=from_state, comment=comment, public=True)


def appeal_withdrawn_event(*, appeal: Appeal, from_state: str, comment: str = "") -> AppealEvent:
    return _appellant_transition_event(appeal=appeal, kind=AppealEvent.Kind.WITHDRAW, from_state=from_state, comment=comment)


def appeal_info_provided_event(*, appeal: Appeal, from_state: str, message: str) -> AppealEvent:
    return _appellant_transition_event(appeal=appeal, kind=AppealEvent.Kind.PROVIDE_INFO, from_state=from_state, comment=message)


def appeal_reopened_event(*, appeal: Appeal, from_state: str, message: str) -> AppealEvent:
    return _appellant_transition_event(appeal=appeal, kind=AppealEvent.Kind.REOPEN, from_state=from_state, comment=message)


def appeal_tracking_link_event(*, appeal: Appeal) -> AppealEvent:
    """A tracking link was mailed to the appeal's contact address (staff only: it says nothing new)."""
    return _create(appeal=appeal, kind=AppealEvent.Kind.TRACKING_LINK, actor_label=APPELLANT, public=False)


# The appellant's rights, from the status page (tickets/services/rights.py): public, so that the
# appellant sees on the timeline what was done with the link, whoever held it.


def appeal_data_downloaded_event(*, appeal: Appeal) -> AppealEvent:
    """The appellant downloaded their data (the appeal, its records and files, as a zip)."""
    return _create(appeal=appeal, kind=AppealEvent.Kind.DATA_DOWNLOADED, actor_label=APPELLANT, public=True)


def appeal_id_images_deleted_event(*, appeal: Appeal, deleted: list) -> AppealEvent:
    """The appellant had the identity-document images deleted (`deleted`: the evidence rows, whose
    fingerprints stay)."""
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.ID_IMAGES_DELETED,
        actor_label=APPELLANT,
        comment=", ".join(_evidence_label(evidence) for evidence in deleted),
        public=True,
    )


def appeal_tracking_links_revoked_event(*, appeal: Appeal) -> AppealEvent:
    """The appellant signed out other devices: older tracking links and their browsers' grants stop working."""
    return _create(appeal=appeal, kind=AppealEvent.Kind.TRACKING_LINKS_REVOKED, actor_label=APPELLANT, public=True)


def appeal_satisfaction_rated_event(*, appeal: Appeal, score: int, comment: str) -> AppealEvent:
    """The appellant rated the decision through the decision e-mail's link (staff only: it changes nothing
    for the appellant)."""
    text = f"{score}/5" + (f": {comment}" if comment else "")
    return _create(appeal=appeal, kind=AppealEvent.Kind.SATISFACTION, actor_label=APPELLANT, comment=text, public=False)


# Staff and system events.


def appeal_action_event(*, appeal: Appeal, actor, action: str, from_state: str, comment: str, public: bool) -> AppealEvent:
    """A workflow action of `services.agent.ACTIONS` by an agent or supervisor (actor None: the system)."""
    return _transition_event(
        appeal=appeal,
        kind=action,
        actor=actor,
        actor_label="" if actor else SYSTEM,
        from_state=from_state,
        comment=comment,
        public=public,
    )


def fresh_photo_code_confirmed_event(*, appeal: Appeal, actor, action: str) -> AppealEvent:
    """On approving (`action`), the agent confirmed that the handheld photo shows the appeal's code."""
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.FRESH_PHOTO_CODE_CONFIRMED,
        actor=actor,
        actor_label="" if actor else SYSTEM,
        comment=f"{appeal.fresh_photo_code} ({action})",
        public=False,
    )


def appeal_outcome_recorded_event(*, appeal: Appeal, actor, note: str = "") -> AppealEvent:
    """A supervisor recorded what the decided appeal turned out to be (staff only)."""
    text = appeal.get_outcome_display()
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.OUTCOME,
        actor=actor,
        comment=f"{text}: {note}" if note else text,
        public=False,
    )


def appeal_assigned_event(*, appeal: Appeal, actor, assignee, from_state: str, previous=None) -> AppealEvent:
    """A supervisor (re)assigned the appeal by hand (claiming it for the assignee if nobody had). Taking
    it from someone else (`previous`, e.g. the agent automatic assignment chose) is an override, and
    the event says whose it was."""
    comment = assignee.get_username()
    if previous is not None and previous.pk != assignee.pk:
        comment = gettext("%(assignee)s (override: taken from %(previous)s)") % {
            "assignee": comment,
            "previous": previous.get_username(),
        }
    return _transition_event(
        appeal=appeal,
        kind=AppealEvent.Kind.ASSIGN,
        actor=actor,
        from_state=from_state,
        comment=comment,
        public=False,
    )


def appeal_auto_assigned_events(*, assigned: list[tuple[Appeal, str]], strategy: str, now) -> list[AppealEvent]:
    """Automatic assignment gave these appeals (each with the agent's username) to agents: claimed for
    them, submitted → in review; their events in one INSERT (staff only)."""
    how = gettext("round robin") if strategy == "round_robin" else gettext("least loaded")
    text = gettext("%(assignee)s (assigned automatically, %(strategy)s)")
    return AppealEvent.objects.bulk_create(
        _event(
            appeal=appeal,
            kind=AppealEvent.Kind.ASSIGN,
            actor_label=SYSTEM,
            from_state="submitted",
            to_state="in_review",
            comment=text % {"assignee": username, "strategy": how},
            public=False,
            created_at=now,
        )
        for appeal, username in assigned
    )


def appeal_comment_event(*, appeal: Appeal, actor, text: str, public: bool) -> AppealEvent:
    """An internal note (staff only) or a public reply (shown to the appellant and e-mailed)."""
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.REPLY if public else AppealEvent.Kind.NOTE,
        actor=actor,
        comment=text,
        public=public,
    )


def appeal_abandoned_event(*, appeal: Appeal, from_state: str) -> AppealEvent:
    """Closed by the scheduled sweep: the appellant did not answer in time."""
    return _transition_event(appeal=appeal, kind=AppealEvent.Kind.ABANDON, actor_label=SYSTEM, from_state=from_state, public=True)


def sla_breach_escalated_events(*, escalated: list[tuple[Appeal, str]]) -> list[AppealEvent]:
    """The SLA sweep escalated these appeals (each with the state it left): their events in one INSERT."""
    comment = gettext("SLA breached: escalated automatically.")
    return AppealEvent.objects.bulk_create(
        _event(
            appeal=appeal,
            kind=AppealEvent.Kind.ESCALATE,
            actor_label=SYSTEM,
            from_state=from_state,
            to_state=appeal.state,
            comment=comment,
            public=False,
        )
        for appeal, from_state in escalated
    )


def appeal_legal_hold_set_event(*, appeal: Appeal, actor, on: bool, reason: str = "") -> AppealEvent:
    """A legal hold placed on the appeal (its files are kept past retention) or lifted; staff only. The
    sentence is written in the acting person's language, like the reason they give."""
    if reason:
        text = (gettext("Placed under legal hold: %(reason)s") if on else gettext("Legal hold lifted: %(reason)s")) % {
            "reason": reason
        }
    else:
        text = gettext("Placed under legal hold.") if on else gettext("Legal hold lifted.")
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.LEGAL_HOLD,
        actor=actor,
        comment=text,
        public=False,
    )


# The fulfilment loop's events: `from_state` and `to_state` are the fulfilment's states.


def appeal_released_event(*, appeal: Appeal) -> AppealEvent:
    """The approved appeal was released to the platform to be carried out (staff only)."""
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.RELEASE,
        actor_label=SYSTEM,
        public=False,
    )


def appeal_released_events(*, appeals: list[Appeal]) -> list[AppealEvent]:
    """The release sweep released these held approvals (their holds ended): their events in one INSERT."""
    comment = gettext("The security hold ended with no objection.")
    return AppealEvent.objects.bulk_create(
        _event(appeal=appeal, kind=AppealEvent.Kind.RELEASE, actor_label=SYSTEM, comment=comment, public=False)
        for appeal in appeals
    )


def appeal_held_event(*, appeal: Appeal, notified: int) -> AppealEvent:
    """The approval waits out a security hold (public: the appellant's timeline says when it takes effect,
    in their language, whoever approved it)."""
    with translation.override(appeal.language or None):
        comment = gettext("It takes effect on %(when)s unless the account's registered contacts stop it.") % {
            "when": _local(appeal.hold_until)
        }
        if notified:
            comment += " " + gettext("Registered contacts told: %(count)d.") % {"count": notified}
    return _create(appeal=appeal, kind=AppealEvent.Kind.HOLD, actor_label=SYSTEM, comment=comment, public=True)


def appeal_hold_objection_event(*, appeal: Appeal, from_state: str, contact: str, note: str) -> AppealEvent:
    """A registered contact stopped the release (staff only: the appellant is told only that the review
    continues; the state change itself shows on their page as "in review")."""
    comment = gettext("%(contact)s said they did not ask for this. Suspected takeover.") % {"contact": contact}
    if note:
        comment += "\n" + note
    return _transition_event(
        appeal=appeal,
        kind=AppealEvent.Kind.HOLD_OBJECTION,
        actor_label=ACCOUNT_OWNER,
        from_state=from_state,
        comment=comment,
        public=False,
    )


def appeal_release_again_event(*, appeal: Appeal, actor, comment: str = "") -> AppealEvent:
    """The assignee or a supervisor released a failed fulfilment again (staff only)."""
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.RELEASE_AGAIN,
        actor=actor,
        comment=comment,
        public=False,
    )


def appeal_fulfilment_reported_event(*, appeal: Appeal, integration=None) -> AppealEvent:
    """The platform (`integration`, if known) reported the appeal carried out (shown to the appellant)
    or failed (staff only, with the platform's detail)."""
    done = appeal.fulfilment == "done"
    return _create(
        appeal=appeal,
        kind=AppealEvent.Kind.FULFILMENT_DONE if done else AppealEvent.Kind.FULFILMENT_FAILED,
        actor_label=integration.name[:32] if integration is not None else PLATFORM,
        comment="" if done else appeal.fulfilment_detail,
        public=done,
    )


def appeal_fulfilment_overdue_events(*, appeals: list[Appeal], hours: int) -> list[AppealEvent]:
    """The fulfilment sweep found these releases unreported after `hours`: their events in one INSERT."""
    comment = gettext("Not reported by the platform %(hours)d hours after its release.") % {"hours": hours}
    return AppealEvent.objects.bulk_create(
        _event(appeal=appeal, kind=AppealEvent.Kind.FULFILMENT_OVERDUE, actor_label=SYSTEM, comment=comment, public=False)
        for appeal in appeals
    )


# Evidence events.


def evidence_verified_event(*, evidence, actor, verified: bool) -> AppealEvent:
    return _create(
        appeal=evidence.appeal,
        actor=actor,
        public=False,
        comment=_evidence_label(evidence),
        kind=AppealEvent.Kind.EVIDENCE_VERIFIED if verified else AppealEvent.Kind.EVIDENCE_UNVERIFIED,
    )


def evidence_viewed_event(*, evidence, actor) -> AppealEvent:
    """A staff member (`actor`) or, with actor None, the appellant opened a file or its page viewer."""
    return _create(
        appeal=evidence.appeal,
        kind=AppealEvent.Kind.EVIDENCE_VIEWED,
        actor=actor,
        actor_label="" if actor else APPELLANT,
        comment=_evidence_label(evidence),
        public=False,
    )


def evidence_reason_stated_event(*, appeal: Appeal, actor, reason: str, expires_at) -> AppealEvent:
    """A staff member stated why they must see the appeal's evidence files (need-to-know,
    evidence/access.py); staff only. The sentence is written in their language, like the reason."""
    text = gettext("%(reason)s (may see the files until %(until)s)") % {"reason": reason, "until": _local(expires_at)}
    return _create(appeal=appeal, kind=AppealEvent.Kind.EVIDENCE_REASON, actor=actor, comment=text, public=False)


def evidence_refused_event(*, evidence, message: str) -> AppealEvent:
    """Processing refused a file: the appellant sees why on the status page."""
    return _create(
        appeal=evidence.appeal,
        kind=AppealEvent.Kind.EVIDENCE_REJECTED,
        actor_label=SYSTEM,
        public=True,
        comment=f"{evidence.original_name}: {message}",
    )


def evidence_replaced_event(*, refused, replacement) -> AppealEvent:
    """The appellant sent a new file in place of a refused one."""
    return _create(
        appeal=replacement.appeal,
        kind=AppealEvent.Kind.EVIDENCE_REPLACED,
        actor_label=APPELLANT,
        public=True,
        comment=f"{refused.get_kind_display()}: {refused.original_name} → {replacement.original_name}",
    )


def evidence_purged_event(*, evidence) -> AppealEvent:
    """Retention deleted the file's stored copies (the row and its fingerprints stay)."""
    return _create(
        appeal=evidence.appeal,
        kind=AppealEvent.Kind.EVIDENCE_PURGED,
        actor_label=SYSTEM,
        comment=_evidence_label(evidence),
        public=False,
    )


# The staff's own events (not an appeal's): listed by the audit export (what=staff).


def staff_signed_out_everywhere_event(*, user, actor, ip_address: str | None) -> StaffSecurityEvent:
    """Every session of `user` ended, by `actor` (the user, from the console, or an administrator)."""
    return StaffSecurityEvent.objects.create(
        kind=StaffSecurityEvent.Kind.SIGN_OUT_EVERYWHERE, user=user, actor=actor, ip_address=ip_address
    )


def staff_security_event(*, kind, user, actor, detail: str = "", ip_address: str | None = None) -> StaffSecurityEvent:
    """One line of the staff's own audit trail (two-factor: supportdesk/two_factor/services.py)."""
    return StaffSecurityEvent.objects.create(kind=kind, user=user, actor=actor, detail=detail[:255], ip_address=ip_address)


def audit_exported_event(*, actor, detail: str, ip_address: str | None) -> StaffSecurityEvent:
    """A supervisor or administrator exported part of the audit log (`detail`: what, format, dates)."""
    return StaffSecurityEvent.objects.create(
        kind=StaffSecurityEvent.Kind.AUDIT_EXPORT, actor=actor, detail=detail[:255], ip_address=ip_address
    )


def staff_sso_signed_in_event(*, user, detail: str, ip_address: str | None) -> StaffSecurityEvent:
    """`user` signed in with single sign-on (`detail`: the provider's subject and the groups given)."""
    return StaffSecurityEvent.objects.create(
        kind=StaffSecurityEvent.Kind.SSO_SIGN_IN, user=user, actor=user, detail=detail[:255], ip_address=ip_address
    )


def staff_sso_refused_event(*, user, detail: str, ip_address: str | None) -> StaffSecurityEvent:
    """A single sign-on was refused (`user`: the account it concerned, when one was found; `detail`: why)."""
    return StaffSecurityEvent.objects.create(
        kind=StaffSecurityEvent.Kind.SSO_REFUSED, user=user, detail=detail[:255], ip_address=ip_address
    )


def staff_password_sign_in_refused_event(*, user, detail: str, ip_address: str | None) -> StaffSecurityEvent:
    """A password sign-in was refused because staff sign in with single sign-on only (`detail`: the name typed)."""
    return StaffSecurityEvent.objects.create(
        kind=StaffSecurityEvent.Kind.PASSWORD_SIGN_IN_REFUSED, user=user, detail=detail[:255], ip_address=ip_address
    )
