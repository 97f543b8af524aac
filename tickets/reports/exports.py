"""Exports as CSV: the metrics page's figures and an appeal's records, every cell that a spreadsheet
would run as a formula made inert (`csv_safe`, also used when evidence CSV files are processed)."""

import csv

from django.utils.timezone import localtime

from tickets.models import LoginDeviceRecord, RechargeRecord

from .metrics import Metrics

HOLD_FIGURES = ("holds", "hold_stopped", "hold_caught", "hold_false_alarms")


def metrics_csv_rows(metrics: Metrics) -> list[list]:
    rows: list[list] = [["section", "key", "met", "breached", "value"]]
    for r in metrics.compliance_by_type:
        rows.append(["compliance_by_type", r["type"].code, r["met"], r["breached"], ""])
    for r in metrics.compliance_by_week:
        rows.append(["compliance_by_week", r["week"].date().isoformat(), r["met"], r["breached"], ""])
    for key in ("p50", "p90"):
        value = metrics.decision_hours[key]
        rows.append(["hours_to_decision", key, "", "", "" if value is None else round(value, 2)])
    for r in metrics.decision_hours_by_type:
        rows.append(["hours_to_decision", f"{r['type'].code} p50", "", "", round(r["p50"], 2)])
        rows.append(["hours_to_decision", f"{r['type'].code} p90", "", "", round(r["p90"], 2)])
    for r in metrics.backlog:
        rows.append(["backlog_by_age_hours", f"{r['low']}-{r['high'] or ''}", "", "", r["count"]])
    for r in metrics.breaches_by_day:
        rows.append(["breaches_by_day", r["day"].isoformat(), "", "", r["count"]])
    for r in metrics.workload:
        rows.append(["workload_open", r["assignee__username"], "", "", r["open"]])
        rows.append(["workload_overdue", r["assignee__username"], "", "", r["overdue"]])
        rows.append(["workload_decided_7d", r["assignee__username"], "", "", r["decided_7d"]])
    for key in ("released", "done", "failed", "overdue", "p50", "p90"):
        value = metrics.fulfilment[key]
        rows.append(["fulfilment", key, "", "", "" if value is None else round(value, 2)])
    for key in ("recorded", "takeovers", "approvals_wrong", "sample_reviewed", "sample_waiting", *HOLD_FIGURES):
        rows.append(["outcomes", key, "", "", metrics.outcomes[key]])
    for r in metrics.outcomes["signals"]:
        rows.append(["signal_precision", r["kind"], r["takeovers"], r["appeals"] - r["takeovers"], round(r["precision"], 3)])
    rows.extend(_satisfaction_rows(metrics.satisfaction))
    return rows


def _satisfaction_rows(satisfaction: dict) -> list[list]:
    """`satisfaction[_by_agent|_by_type|_by_outcome]`, key `<name> count|average|score N` (agents by
    username, types by code, outcomes by state)."""
    rows: list[list] = []
    groups = [("satisfaction", [{"key": "all", **satisfaction["overall"]}])] if satisfaction else []
    groups += [(f"satisfaction_{name}", satisfaction.get(name, [])) for name in ("by_agent", "by_type", "by_outcome")]
    for section, found in groups:
        for r in found:
            key = r["key"]
            average = "" if r["average"] is None else round(r["average"], 2)
            rows.append([section, f"{key} count", "", "", r["count"]])
            rows.append([section, f"{key} average", "", "", average])
            rows.extend([section, f"{key} score {score}", "", "", n] for score, n in enumerate(r["distribution"], start=1))
    return rows


def csv_safe(value) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: make such text inert."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer inside a streamed response."""

    def write(self, value: str) -> str:
        return value


def _local_iso(moment) -> str:
    """The console's local time (Beijing), ISO 8601 with its offset: `2026-10-01T18:00:00+08:00`."""
    return localtime(moment).isoformat()


def records_csv_lines(appeal):
    """An appeal's recharge and login-device records as CSV lines, formula-like cells made inert, read
    from the database in chunks (the console streams them)."""
    writer = csv.writer(_Echo())
    # A byte-order mark first: Excel on Chinese Windows reads a CSV without one as GB18030.
    yield "\ufeff"
    yield writer.writerow(
        ["record", "time", "order_number", "amount", "currency", "product", "ip_address", "device_model", "device_id", "location"]
    )
    recharges = RechargeRecord.objects.filter(appeal=appeal).order_by("paid_at", "pk")
    for r in recharges.iterator(chunk_size=500):
        yield writer.writerow(
            [
                csv_safe(v)
                for v in ("recharge", _local_iso(r.paid_at), r.order_number, r.amount, r.currency, r.product, "", "", "", "")
            ]
        )
    devices = LoginDeviceRecord.objects.filter(appeal=appeal).order_by("seen_at", "pk")
    for d in devices.iterator(chunk_size=500):
        yield writer.writerow(
            [
                csv_safe(v)
                for v in (
                    "login_device",
                    _local_iso(d.seen_at),
                    "",
                    "",
                    "",
                    "",
                    d.ip_address,
                    d.device_model,
                    d.device_id,
                    d.location,
                )
            ]
        )
