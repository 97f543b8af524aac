"""The one error every appeal service raises for an action that cannot be done, with a message for the
person who tried (agent, supervisor or appellant): views show it; django-fsm's own exceptions never
reach them."""


class WorkflowError(Exception):
    """An action that cannot be done; `message` is for the person who tried."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AppealChanged(WorkflowError):
    """Someone else changed the appeal since the actor loaded it."""


class EvidenceReplaceRefused(WorkflowError):
    """A refused file that the appellant cannot replace (the appeal is closed, the file was not refused,
    or it was already replaced)."""
