"""How often each reason code was used (`/desk/metrics/` and its CSV): in requests for information
(one use per file asked for) and in rejections, in total and by appeal type, since the metrics' window
opened. One aggregate query, folded here (codes × types × 2 uses: a few hundred numbers at most)."""

from dataclasses import dataclass, field

from django.db.models import Count

from tickets.models import AppealReason, ReasonCode

REQUEST, REJECTION = AppealReason.Use.REQUEST, AppealReason.Use.REJECTION


@dataclass
class ReasonCount:
    code: ReasonCode
    requests: int = 0
    rejections: int = 0
    # {appeal type code: {"requests": n, "rejections": n}}
    by_type: dict = field(default_factory=dict)


def reason_code_counts(*, since) -> list[ReasonCount]:
    """Every code (used ones first, most used first), with its uses since `since`."""
    counts = {code.pk: ReasonCount(code=code) for code in ReasonCode.objects.all()}
    rows = (
        AppealReason.objects.filter(created_at__gte=since)
        .values("reason", "use", "appeal__appeal_type__code")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        entry = counts[row["reason"]]
        key = "requests" if row["use"] == REQUEST else "rejections"
        setattr(entry, key, getattr(entry, key) + row["count"])
        by_type = entry.by_type.setdefault(row["appeal__appeal_type__code"], {"requests": 0, "rejections": 0})
        by_type[key] += row["count"]
    return sorted(counts.values(), key=lambda c: (-(c.requests + c.rejections), c.code.position, c.code.code))


def reason_code_csv_rows(counts: list[ReasonCount]) -> list[list]:
    """The metrics CSV's rows for the codes (its columns: section, key, met, breached, value)."""
    rows = []
    for entry in counts:
        rows.append(["reason_code_requests", entry.code.code, "", "", entry.requests])
        rows.append(["reason_code_rejections", entry.code.code, "", "", entry.rejections])
        for type_code, uses in sorted(entry.by_type.items()):
            rows.append(["reason_code_requests_by_type", f"{type_code} {entry.code.code}", "", "", uses["requests"]])
            rows.append(["reason_code_rejections_by_type", f"{type_code} {entry.code.code}", "", "", uses["rejections"]])
    return rows
