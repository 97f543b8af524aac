"""The appellant's rights, from the status page (PIPL arts. 44–47): download their data, have their
identity-document images deleted once the appeal is decided, sign out other devices. Each is logged
as a public event (the appellant sees on the timeline what was done with the link, whoever held it).

The status page checks the link and this browser's grant before calling these (tickets/portal/views.py)."""

import csv
import io
import json
import mimetypes
import tempfile
import zipfile

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from evidence.models import Evidence
from evidence.retention import evidence_files_purge
from evidence.storage import evidence_storage
from tickets.events import appeal_data_downloaded_event, appeal_id_images_deleted_event, appeal_tracking_links_revoked_event
from tickets.models import APPELLANT_FIELDS, CLOSED_STATES, Appeal, AppealState, EvidenceKind, FulfilmentState
from tickets.outbox.services import appellant_email_enqueue
from tickets.reports.exports import csv_safe, records_csv_lines
from tickets.selectors import evidence_views_for_appellant

from .errors import WorkflowError

ID_IMAGE_KINDS = (EvidenceKind.ID_FRONT, EvidenceKind.ID_BACK, EvidenceKind.ID_HANDHELD)


# --- Sign out other devices ------------------------------------------------------------------------


@transaction.atomic
def appeal_tracking_links_revoke(*, appeal: Appeal) -> Appeal:
    """Every tracking link made so far, and every browser grant from one, stops working: the appeal's
    link generation moves on. The caller gives its own browser a link of the new generation."""
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    appeal.tracking_generation += 1
    appeal.save(update_fields=["tracking_generation", "updated_at"])
    appeal_tracking_links_revoked_event(appeal=appeal)
    return appeal


# --- Delete my identity-document images ------------------------------------------------------------


def id_images_delete_refusal(*, appeal: Appeal) -> str:
    """Why the appellant may not have the ID images deleted now ("" when they may)."""
    if appeal.state not in CLOSED_STATES:
        return _(
            "Your identity-document images can be deleted once your appeal is decided, withdrawn or closed: "
            "we need them to decide it."
        )
    if appeal.fulfilment == FulfilmentState.HELD:
        return _("Your approval has not taken effect yet: the images can be deleted once it has.")
    if appeal.legal_hold:
        return _(
            "Your identity-document images cannot be deleted now: the appeal is under a legal hold (for example an "
            "order of a court or a regulator), and its files must be kept until the hold ends."
        )
    return ""


def id_images_left(*, appeal: Appeal) -> list[Evidence]:
    return [e for e in appeal.evidence.all() if e.kind in ID_IMAGE_KINDS and e.purged_at is None]


@transaction.atomic
def appeal_id_images_delete(*, appeal: Appeal) -> list[Evidence]:
    """Delete the files of the appeal's identity-document images (front, back, handheld) the way
    retention does (evidence/retention.py): the rows, their fingerprints and the access log stay. The
    appeal is locked, so a legal hold placed meanwhile is seen; confirmed by e-mail."""
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    refusal = id_images_delete_refusal(appeal=appeal)
    if refusal:
        raise WorkflowError(refusal)
    images = list(
        Evidence.objects.select_for_update()
        .filter(appeal=appeal, kind__in=ID_IMAGE_KINDS, purged_at__isnull=True)
        .order_by("created_at", "pk")
    )
    if not images:
        raise WorkflowError(_("Your identity-document images have already been deleted."))
    now = timezone.now()
    for evidence in images:
        evidence_files_purge(evidence=evidence, now=now, on_request=True)
    appeal_id_images_deleted_event(appeal=appeal, deleted=images)
    appellant_email_enqueue(appeal=appeal, template="id_images_deleted", deleted=images)
    return images


# --- Download my data ------------------------------------------------------------------------------

# What the appellant gave us (the form's fields) and what we decided, as they gave and saw it: no
# internal fields (risk, assignee, notes, addresses), no staff names.
APPEAL_FIELDS = ("reference", *APPELLANT_FIELDS, "id_number_last4", "consent_text")


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def _appeal_facts(appeal: Appeal) -> dict:
    facts = {field: getattr(appeal, field) for field in APPEAL_FIELDS}
    facts.update(
        appeal_type=appeal.appeal_type.name,
        state=str(appeal.get_state_display()),
        filed_at=_iso(appeal.created_at),
        decided_or_closed_at=_iso(appeal.closed_at),
        consent_id_images_at=_iso(appeal.consent_id_images_at),
        fulfilment=str(appeal.get_fulfilment_display()),
    )
    return facts


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")  # Excel on Chinese Windows reads a CSV without a byte-order mark as GB18030
    writer.writerows([[csv_safe(cell) for cell in row] for row in rows])
    return out.getvalue()


def _file_status(evidence: Evidence, withdrawn: bool) -> str:
    if evidence.purged_at:
        if evidence.purged_on_request:
            return _("deleted at your request")
        return _("deleted after the retention period")
    if evidence.status == Evidence.Status.REJECTED:
        return _("refused: %(reason)s") % {"reason": evidence.status_reason}
    if not evidence.processed_copy_ready:
        return _("still being processed")
    if withdrawn:
        return _("not included: the appeal was withdrawn")
    return ""


def appeal_data_export(*, appeal: Appeal):
    """The appellant's data as a zip in a temporary file (rewound, for the response to stream): the
    appeal's facts (appeal.json), its records (records.csv), its public timeline (timeline.csv), who
    viewed which file by role (file_views.csv), the processed evidence files (files/), and a list of
    every file with what became of it (README.txt). Logged as an event."""
    appeal = Appeal.objects.select_related("appeal_type").prefetch_related("evidence").get(pk=appeal.pk)
    withdrawn = appeal.state == AppealState.WITHDRAWN  # the link serves no files after withdrawal
    evidence = list(appeal.evidence.all())
    views = evidence_views_for_appellant(appeal=appeal)
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("appeal.json", json.dumps(_appeal_facts(appeal), ensure_ascii=False, indent=2))
        z.writestr("records.csv", "".join(records_csv_lines(appeal)))
        timeline = [[_("time"), _("event"), _("text")]]
        for event in appeal.events.filter(public=True).order_by("created_at", "pk"):
            timeline.append([_iso(event.created_at), str(event.get_kind_display()), event.comment])
        z.writestr("timeline.csv", _csv(timeline))
        by_pk = {item.pk: item for item in evidence}
        viewed = [[_("time"), _("file"), _("viewed by"), _("views")]]
        for evidence_id, rows in views.items():
            label = f"{by_pk[evidence_id].get_kind_display()}: {by_pk[evidence_id].original_name}"
            viewed += [[_iso(row.at), label, row.viewer_label, row.count] for row in rows]
        z.writestr("file_views.csv", _csv(viewed))
        downloaded = {"reference": appeal.reference, "when": _iso(timezone.now())}
        listing = [_("Your appeal %(reference)s, downloaded %(when)s.") % downloaded, ""]
        for number, item in enumerate(evidence, start=1):
            status = _file_status(item, withdrawn)
            line = f"{number:02d}. {item.get_kind_display()}: {item.original_name}"
            if status:
                listing.append(f"{line} ({status})")
                continue
            name = f"files/{number:02d}-{item.kind}{mimetypes.guess_extension(item.content_type) or ''}"
            with evidence_storage.open(item.file.name, "rb") as handle, z.open(name, "w") as out:
                while chunk := handle.read(1 << 20):
                    out.write(chunk)
            listing.append(f"{line} → {name}")
        z.writestr("README.txt", "\n".join(listing) + "\n")
    archive.seek(0)
    appeal_data_downloaded_event(appeal=appeal)
    return archive
