"""What each state of an appeal means for the appellant, in one sentence (the status page)."""

from django.utils.translation import gettext_lazy

from tickets.models import AppealState

STATE_EXPLAINED = {
    AppealState.SUBMITTED: gettext_lazy("We have your appeal. An agent will pick it up soon."),
    AppealState.IN_REVIEW: gettext_lazy("An agent is checking your appeal and your evidence."),
    AppealState.AWAITING_INFO: gettext_lazy(
        "We need more information from you. Our question and the answer form are just below."
    ),
    AppealState.PENDING_APPROVAL: gettext_lazy(
        "Your appeal is waiting for a second approval, as required for this kind of request."
    ),
    AppealState.ESCALATED: gettext_lazy("A supervisor is handling your appeal."),
    AppealState.APPROVED: gettext_lazy("Your appeal was approved. We have e-mailed you the next steps."),
    AppealState.REJECTED: gettext_lazy("Your appeal was rejected. The e-mail we sent explains why and how to reopen it."),
    AppealState.WITHDRAWN: gettext_lazy("You withdrew this appeal."),
    AppealState.CLOSED: gettext_lazy("This appeal is closed."),
}
# Awaiting information when the request has no written question on the page: the e-mail has it.
AWAITING_INFO_BY_EMAIL = gettext_lazy(
    "We need more information from you: see the e-mail we sent, and answer with the form just below."
)


def appeal_state_explained(*, state: str, question_shown: bool = True) -> str:
    """The sentence for `state` in the active language; `question_shown`: the page shows what we asked."""
    if state == AppealState.AWAITING_INFO and not question_shown:
        return str(AWAITING_INFO_BY_EMAIL)
    return str(STATE_EXPLAINED.get(state, ""))
