"""Recharge records and login devices given as a CSV file: the columns each kind accepts (our own
template's and the headers common exports carry), and the parser that turns a file into form rows
with one clear message per problem."""

import csv
import io
import re
import unicodedata

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _


def too_many_records_message() -> str:
    return _("Too many records: at most %(max)d of each kind per appeal, rows on the page and rows in the CSV file together.") % {
        "max": settings.APPEAL_MAX_RECORD_ROWS
    }


# CSV column names accepted for each record kind: the names our own template uses and the headers
# that exports from Chinese apps, payment services and banks commonly carry. A header is compared
# after `csv_header_normalise`, so case, spaces, "_"/"-", a BOM, full-width forms and a unit in
# brackets ("金额(元)", "金额（元）") do not matter.
RECHARGE_COLUMNS = {
    "order_number": (
        "order_number",
        "order",
        "order_no",
        "order_id",
        "order number",
        "transaction_id",
        "transaction",
        "trade_no",
        "订单号",
        "订单编号",
        "订单",
        "交易单号",
        "交易号",
        "交易编号",
        "商户单号",
        "商户订单号",
        "支付单号",
        "流水号",
        "交易流水号",
        "充值单号",
    ),
    "amount": (
        "amount",
        "total",
        "price",
        "金额",
        "支付金额",
        "充值金额",
        "交易金额",
        "付款金额",
        "实付金额",
        "订单金额",
    ),
    "currency": ("currency", "币种", "货币", "币别"),
    "paid_at": (
        "paid_at",
        "paid at",
        "payment_time",
        "time",
        "date",
        "datetime",
        "支付时间",
        "充值时间",
        "交易时间",
        "付款时间",
        "下单时间",
        "创建时间",
        "时间",
        "日期",
    ),
    "product": ("product", "item", "goods", "description", "商品", "商品名称", "商品名", "产品", "产品名称", "商品说明"),
}
DEVICE_COLUMNS = {
    "seen_at": ("seen_at", "seen at", "login_time", "time", "date", "datetime", "登录时间", "时间", "日期"),
    "ip_address": ("ip_address", "ip", "ip address", "login_ip", "ip地址", "登录ip", "登录ip地址"),
    "device_model": (
        "device_model",
        "device",
        "model",
        "device_name",
        "设备型号",
        "设备名称",
        "设备",
        "机型",
        "手机型号",
        "登录设备",
    ),
    "device_id": ("device_id", "mac", "mac_address", "imei", "设备id", "设备标识", "设备号", "mac地址", "设备编号"),
    "location": ("location", "place", "city", "地点", "登录地点", "位置", "登录位置", "地区", "登录地区", "所在地"),
}

_HEADER_UNIT = re.compile(r"\([^()]*\)$|\[[^\[\]]*\]$")
_HEADER_NOISE = re.compile(r"[\s_\-:：]+")


def csv_header_normalise(name: str) -> str:
    """A header as compared with the column names: full-width forms folded (NFKC), BOM and a trailing
    unit in brackets removed, lower case, without spaces, "_", "-" or a colon."""
    name = unicodedata.normalize("NFKC", name).replace("\ufeff", "").strip().lower()
    name = _HEADER_UNIT.sub("", name).strip()
    return _HEADER_NOISE.sub("", name)


def _csv_columns_help(columns: dict) -> str:
    """Our own column names, each with its Chinese form: "order_number/订单号, amount/金额, …"."""
    names = []
    for field, aliases in columns.items():
        chinese = next((a for a in aliases if re.search(r"[\u4e00-\u9fff]", a)), "")
        names.append(f"{field}/{chinese}" if chinese else field)
    return ", ".join(names)


def records_parse_csv(text: str, form_class, columns: dict, max_rows: int | None = None) -> tuple[list[dict], list[str]]:
    """Rows validated by the same form as the on-screen rows. Returns (rows, per-row errors).

    Headers are matched by `csv_header_normalise`. A column for a field that has a default (the
    currency) may be left out; a file without a column for another required field is refused at once,
    naming what is missing, the columns that were not recognised and the names we accept. Columns we
    do not recognise are ignored; when the file is refused, the appellant is told which they were.

    The file is read row by row and given up as soon as it holds more than `max_rows` records
    (default APPEAL_MAX_RECORD_ROWS), before that row is validated: a file of 100,000 rows costs
    no more than one just over the limit."""
    if max_rows is None:
        max_rows = settings.APPEAL_MAX_RECORD_ROWS
    unreadable = _("The CSV file could not be read (%(error)s). Save it again as CSV and retry.")
    table = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(table, None)
    except csv.Error as exc:
        return [], [unreadable % {"error": exc}]
    if not header:
        return [], [_("The CSV file has no header row.")]
    aliases = {csv_header_normalise(alias): field for field, names in columns.items() for alias in names}
    fields, seen = [], set()
    for name in header:
        field = aliases.get(csv_header_normalise(name))
        fields.append(field if field not in seen else None)  # a second column for the same field is ignored
        seen.add(field)
    joiner = "、" if (get_language() or "").startswith("zh") else ", "
    ignored = joiner.join(f"“{name.strip()}”" for name, field in zip(header, fields, strict=True) if not field and name.strip())
    expected = _csv_columns_help(columns)
    ignored_note = _("Columns we did not recognise and ignored: %(columns)s.") % {"columns": ignored}
    if not any(fields):
        return [], [_("The CSV header was not recognised. Use the columns: %(columns)s.") % {"columns": expected}]
    probe = form_class()
    defaults = {f: field.initial for f, field in probe.fields.items() if f not in seen and field.initial is not None}
    missing = [str(field.label) for f, field in probe.fields.items() if field.required and f not in seen and f not in defaults]
    if missing:
        message = _("The CSV file has no column for: %(missing)s. Use the columns: %(columns)s.") % {
            "missing": joiner.join(missing),
            "columns": expected,
        }
        return [], [message, *([ignored_note] if ignored else [])]
    rows, errors, count = [], [], 0
    try:
        for line_number, values in enumerate(table, start=2):
            if not any(v.strip() for v in values):
                continue
            count += 1
            if count > max_rows:
                return [], [too_many_records_message()]
            data = {**defaults, **{f: v.strip() for f, v in zip(fields, values, strict=False) if f}}
            form = form_class(data=data)
            if form.is_valid():
                rows.append(form.cleaned_data)
            else:
                for field, field_errors in form.errors.items():
                    label = form.fields[field].label if field in form.fields else field
                    errors.append(
                        _("Row %(row)d, %(field)s: %(error)s")
                        % {"row": line_number, "field": label, "error": " ".join(field_errors)}
                    )
    except csv.Error as exc:
        return [], [unreadable % {"error": exc}]
    if errors and ignored:
        errors.insert(0, ignored_note)
    return rows, errors


# Files of a record kind are asked beside that kind's rows and CSV import, not again among the files.
