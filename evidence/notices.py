"""What happens around a file that processing refused: the record of it on the appeal."""

from tickets.models import AppealEvent


def evidence_refused_record(*, evidence, message: str) -> None:
    """Called inside the processing transaction once `evidence` is marked rejected."""
    AppealEvent.objects.create(
        appeal=evidence.appeal, kind=AppealEvent.Kind.EVIDENCE_REJECTED, actor_label="system", public=True,
        comment=f"{evidence.original_name}: {message}",
    )
