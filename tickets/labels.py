"""Words for stored codes, shared by the console, the services' messages and the e-mails: one place
says what a state is called."""

from django.utils.translation import gettext_lazy, pgettext_lazy

from .models import AppealState

# The console's words for a state where the appellant's own wording does not fit staff ("Waiting for
# your information" is addressed to the appellant); the status page keeps AppealState's labels.
STAFF_STATE_LABELS = {AppealState.AWAITING_INFO: gettext_lazy("Awaiting the appellant")}


def staff_state_label(state: str) -> str:
    """A state as agents and supervisors read it (queue rows, filter, appeal badge, messages)."""
    if state in STAFF_STATE_LABELS:
        return str(STAFF_STATE_LABELS[state])
    return str(AppealState(state).label) if state in AppealState.values else state


def staff_state_choices() -> list[tuple[str, str]]:
    """(value, staff label) for every state, in AppealState's order: the console's state filter."""
    return [(str(value), staff_state_label(value)) for value in AppealState.values]


# What the console says a processed file is, instead of its content type.
FILE_TYPE_LABELS = {
    "image/jpeg": pgettext_lazy("file type", "JPEG image"),
    "image/png": pgettext_lazy("file type", "PNG image"),
    "image/webp": pgettext_lazy("file type", "WebP image"),
    "application/pdf": pgettext_lazy("file type", "PDF"),
    "text/csv": pgettext_lazy("file type", "CSV table"),
}


def file_type_label(content_type: str) -> str:
    return str(FILE_TYPE_LABELS.get(content_type, pgettext_lazy("file type", "file")))
