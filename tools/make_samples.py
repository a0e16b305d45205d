"""Write sample_inputs/: the default compensation standard and two months of incident workbooks.

    python tools/make_samples.py [OUT_DIR]        # default: sample_inputs/ next to this folder

Everything is data in the tables below; nothing is random and the workbooks carry a fixed creation
date, so running the script again gives byte-identical files. It writes compensation.toml,
rates/rates.xlsx and inbox/*.xlsx; README.md and expected_totals.csv are written by hand (the totals
there are worked from these tables, so change them together).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

CREATED = datetime(2026, 11, 1)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sample_inputs"

Row = tuple[object, ...]
Sheets = dict[str, list[Row]]

# ================================================================================================
# compensation.toml: the SPEC section 6 example, email in outbox mode, no burst tables

CONFIG = """\
[report]
rates = "rates/rates.xlsx"
locale = "en"                      # or "zh-CN"

[inbox]
settle_seconds = 2                 # files modified more recently are left for the next run

[email]
mode = "outbox"                    # "outbox": write .eml files only; "smtp": send them
from = "compensation-report@example.com"
to = ["finance@example.com"]
# templates = "templates"          # optional: a folder whose templates override the built-in ones

[email.smtp]
host = "localhost"
port = 25
security = "none"                  # "starttls" or "ssl"
username = ""
password_env = "SMTP_PASSWORD"     # the password is read from this environment variable
"""

# ================================================================================================
# The compensation standard (rates/rates.xlsx), reporting currency CNY

Y2026, Y2026_END, OCT1 = date(2026, 1, 1), date(2026, 12, 31), date(2026, 10, 1)

SETTINGS: list[Row] = [
    ("key", "value"),
    ("reporting_currency", "CNY"),
    ("standard_name", "软件生产事故赔偿标准 / Software production incident compensation standard"),
    ("version", "2026.2"),
]

BU = "Business unit / 业务部门"
OPS = "IT operations / 运维部"
CS = "Customer service / 客服部"
LEGAL = "Legal / 法务部"

RATE_HEADER: Row = ("category", "item", "name_en", "name_zh", "basis", "unit", "rate", "currency",
                    "severity", "max_amount", "valid_from", "valid_to", "method_en", "method_zh", "responsible")


def halt(severity: str, rate: int, cap: int | None = None) -> Row:
    """DOWNTIME.production_halt for one severity (the hour quantity may come from the duration)."""
    cap_en = f", at most {cap:,} per incident" if cap else ""
    cap_zh = f",每起事故上限{cap // 10000}万元" if cap else ""
    return ("DOWNTIME", "production_halt", f"Production halt ({severity})", f"生产停滞({severity})",
            "per_unit", "hour", rate, "CNY", severity, cap or "", Y2026, "",
            f"Outage hours × {rate:,} per hour{cap_en}; hours default to the incident duration",
            f"停工小时 × {rate}元/小时{cap_zh};未填数量时按事故持续时间计算", OPS)


RATES: list[Row] = [
    # LOSS 损失赔偿: direct and indirect economic loss
    ("LOSS", "lost_revenue", "Lost revenue", "收入损失", "direct", "amount", 1, "", "", "", Y2026, "",
     "Reported lost sales revenue × 100%", "按申报的销售收入损失全额计算(直接损失)", BU),
    ("LOSS", "data_recovery", "Data loss and recovery", "数据丢失和恢复", "per_unit", "GB", 80, "CNY", "",
     200000, Y2026, "", "GB restored × 80 per GB, at most 200,000 per incident",
     "恢复数据量(GB)× 80元/GB,每起事故上限20万元", OPS),
    ("LOSS", "customer_churn", "Customer churn", "客户流失", "direct", "amount", 0.5, "", "", "", Y2026, "",
     "Estimated revenue of lost customers × 50% (indirect loss)", "预计流失客户收入 × 50%(间接损失按五成计)", BU),
    # DOWNTIME 停工损失: production halt, idle staff, supply chain
    halt("P1", 60000, 600000),
    halt("P2", 25000, 300000),
    halt("P3", 8000),
    halt("P4", 2000),
    ("DOWNTIME", "idle_staff", "Idle staff", "员工闲置", "per_unit", "person_hour", 150, "CNY", "", "",
     Y2026, "", "Idle person-hours × 150 (wages and benefits paid during the halt)",
     "闲置人时 × 150元/人时(停工期间支付的工资和福利)", BU),
    ("DOWNTIME", "supply_chain", "Supply-chain disruption", "供应链中断", "direct", "amount", 1, "", "", "",
     Y2026, "", "Reported supply-chain disruption cost × 100%", "按申报的供应链中断成本全额计算", BU),
    # CUSTOMER 客户赔偿: SLA credits and service extensions are priced from the SLA sheet
    ("CUSTOMER", "sla_credit", "SLA credit", "SLA经济补偿", "direct", "customer", 1, "", "", "", Y2026, "",
     "Priced from the SLA sheet: monthly fee × credit %; at most 100% of the monthly fee per month",
     "按SLA赔偿表计算:月费 × 赔偿比例;每客户每月不超过月费的100%", CS),
    ("CUSTOMER", "service_extension", "Service extension", "延长服务期限", "direct", "customer", 1, "", "", "",
     Y2026, "", "Priced from the SLA sheet: monthly fee × extension days / 30",
     "按SLA赔偿表计算:月费 × 延期天数 / 30", CS),
    ("CUSTOMER", "goodwill", "Goodwill compensation", "协商经济补偿", "direct", "amount", 1, "", "", "", Y2026,
     "", "Agreed goodwill payment × 100%", "按与客户协商的补偿金额全额计算", CS),
    ("CUSTOMER", "free_support", "Free technical support", "免费技术支持", "per_unit", "hour", 600, "CNY", "",
     "", Y2026, "", "Support hours given to customers × 600", "向客户提供的免费支持小时 × 600元/小时", CS),
    # FINE 法律罚款: regulatory fines are priced from the Fines sheet
    ("FINE", "regulatory", "Regulatory fine", "监管罚款", "fixed", "case", 0, "CNY", "", "", Y2026, "",
     "Priced from the Fines sheet: fixed amount + per record × records affected, at most the maximum",
     "按法律罚款表计算:固定罚款 + 每条记录罚款 × 受影响记录数,不超过上限", LEGAL),
    ("FINE", "contract_penalty", "Contract penalty", "合同违约金", "direct", "amount", 1, "", "", "", Y2026, "",
     "Penalty as invoiced by the counterparty × 100%", "按对方开具的违约金全额计算", LEGAL),
    # REPAIR 修复费用: software repair, technical support, system upgrade
    ("REPAIR", "engineering", "Software repair", "软件修复", "per_unit", "person_hour", 400, "CNY", "", "",
     Y2026, date(2026, 9, 30), "Engineering person-hours × 400 (until 30 Sep 2026)",
     "修复工时 × 400元/人时(至2026-09-30)", OPS),
    ("REPAIR", "engineering", "Software repair", "软件修复", "per_unit", "person_hour", 450, "CNY", "", "",
     OCT1, "", "Engineering person-hours × 450 (from 1 Oct 2026)", "修复工时 × 450元/人时(2026-10-01起)", OPS),
    ("REPAIR", "vendor_support", "Vendor technical support", "技术支持费用", "per_unit", "hour", 180, "USD", "",
     "", Y2026, "", "Vendor support hours × 180 USD", "供应商技术支持小时 × 180美元/小时", OPS),
    ("REPAIR", "system_upgrade", "System upgrade", "系统升级", "direct", "amount", 1, "", "", 500000, Y2026, "",
     "Upgrade cost × 100%, at most 500,000 per incident", "系统升级费用全额计算,每起事故上限50万元", OPS),
    ("REPAIR", "incident_review", "Incident review", "事故复盘", "fixed", "case", 5000, "CNY", "", "", Y2026, "",
     "5,000 per incident review", "每次事故复盘5000元", OPS),
]

SLA: list[Row] = [
    ("sla_tier", "min_outage_minutes", "credit_percent", "extension_days"),
    ("Gold", 0, 0, 0), ("Gold", 15, 10, 3), ("Gold", 60, 25, 7), ("Gold", 240, 50, 15), ("Gold", 720, 100, 30),
    ("Silver", 30, 5, 0), ("Silver", 120, 10, 3), ("Silver", 480, 25, 7), ("Silver", 1440, 50, 15),
    ("Bronze", 60, 5, 0), ("Bronze", 240, 10, 0), ("Bronze", 720, 20, 3),
]

FINES: list[Row] = [
    ("jurisdiction", "fixed_amount", "per_record", "max_amount", "currency", "valid_from", "valid_to"),
    ("CN", 50000, 2, 1000000, "CNY", Y2026, ""),
    ("EU", 20000, 5, 20000000, "EUR", Y2026, ""),
]

INSURANCE: list[Row] = [
    ("policy_id", "insurer", "covered", "deductible", "coinsurance_percent", "per_incident_limit",
     "aggregate_limit", "waiting_period_hours", "currency", "valid_from", "valid_to"),
    ("CYB-2026-001", "Huatai Cyber BI", "LOSS,DOWNTIME,REPAIR.vendor_support", 50000, 10, 400000, 1000000, 8,
     "CNY", Y2026, Y2026_END),
    ("EO-2026-017", "Meridian Tech E&O", "CUSTOMER", 2000, 0, 30000, 60000, 0, "USD", Y2026, Y2026_END),
]

FX: list[Row] = [
    ("currency", "valid_from", "rate"),
    ("USD", Y2026, 7.1234), ("USD", OCT1, 7.1850),
    ("EUR", Y2026, 7.7012), ("EUR", OCT1, 7.8125),
]

# ================================================================================================
# Incident workbooks (inbox/*.xlsx)

INCIDENT_HEADER: Row = ("incident_id", "title", "business_unit", "system", "severity", "started_at",
                        "resolved_at", "responsible_party", "jurisdiction", "records_affected", "currency",
                        "root_cause")
LOSS_HEADER: Row = ("incident_id", "category", "item", "quantity", "amount", "currency", "note")
CUSTOMER_HEADER: Row = ("incident_id", "customer_id", "customer_name", "sla_tier", "monthly_fee", "currency",
                        "outage_minutes")
BLANK: Row = ()


def at(text: str) -> datetime:
    """A real Excel date-time (the ISO-text workbook keeps its strings as they are)."""
    return datetime.fromisoformat(text)


PAYMENTS_SEP: Sheets = {
    "Incidents": [
        INCIDENT_HEADER,
        ("PAY-2609-01", "Card gateway timeouts during payday peak", "Payments", "payment-gateway", "P1",
         at("2026-09-05 09:10"), at("2026-09-05 21:40"), "vendor", "", "", "CNY",
         "Connection pool exhausted after a gateway config push"),
        ("PAY-2609-02", "Refund batch posted twice", "Payments", "refund-service", "P2",
         at("2026-09-12 02:00"), at("2026-09-12 06:30"), "internal", "", "", "CNY",
         "Batch retried without an idempotency key"),
        ("PAY-2609-03", "Merchant settlement report delayed", "Payments", "settlement", "P3",
         at("2026-09-20 08:00"), at("2026-09-20 09:15"), "internal", "", "", "CNY",
         "Nightly batch stuck on a table lock"),
        ("PAY-2609-04", "3-D Secure challenge page errors", "Payments", "3ds-proxy", "P2",
         at("2026-09-27 19:00"), at("2026-09-28 01:00"), "third_party", "", "", "CNY",
         "Issuer ACS certificate expired"),
    ],
    "Losses": [
        LOSS_HEADER,
        ("PAY-2609-01", "LOSS", "lost_revenue", "", 420000, "", "Declined card sales, finance estimate"),
        ("PAY-2609-01", "DOWNTIME", "production_halt", "", "", "", "Hours from the incident duration"),
        ("PAY-2609-01", "DOWNTIME", "idle_staff", 240, "", "", "Call-centre agents idle"),
        ("PAY-2609-01", "REPAIR", "engineering", 80, "", "", "September rate"),
        ("PAY-2609-01", "REPAIR", "incident_review", "", "", "", ""),
        ("PAY-2609-02", "LOSS", "lost_revenue", "", 18500.5, "", "Duplicate refunds not recovered"),
        ("PAY-2609-02", "LOSS", "data_recovery", 120, "", "", "Ledger rebuilt from backups"),
        ("PAY-2609-02", "REPAIR", "engineering", 16, "", "", ""),
        ("PAY-2609-03", "REPAIR", "engineering", 6, "", "", ""),
        ("PAY-2609-03", "LOSS", "customer_churn", "", 30000, "", "Two merchants at risk"),
        ("PAY-2609-04", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2609-04", "REPAIR", "vendor_support", 4, "", "", "Issuer support call, rate in USD"),
    ],
}

PAYMENTS_OCT: Sheets = {  # also carries a corrected PAY-2609-03 (a revision); one blank row in Losses
    "Incidents": [
        INCIDENT_HEADER,
        ("PAY-2610-01", "Payment API 503 errors after a deploy", "Payments", "payment-api", "P1",
         at("2026-10-02 11:00"), at("2026-10-02 21:30"), "internal", "", "", "CNY",
         "Canary analysis passed a build with a broken health check"),
        ("PAY-2610-02", "Currency conversion rounding bug", "Payments", "fx-service", "P3",
         at("2026-10-09 10:00"), at("2026-10-09 14:00"), "internal", "", "", "CNY",
         "Binary floating point used for money amounts"),
        ("PAY-2610-03", "Merchant dashboard unavailable", "Payments", "merchant-portal", "P4",
         at("2026-10-18 22:00"), at("2026-10-18 23:20"), "internal", "", "", "CNY", "Expired TLS certificate"),
        ("PAY-2610-04", "Fraud-scoring service degraded", "Payments", "fraud-scoring", "P2",
         at("2026-10-26 13:30"), at("2026-10-27 03:30"), "vendor", "", "", "CNY",
         "Vendor model host ran out of memory"),
        ("PAY-2609-03", "Merchant settlement report delayed (corrected)", "Payments", "settlement", "P3",
         at("2026-09-20 08:00"), at("2026-09-20 09:15"), "internal", "", "", "CNY",
         "Nightly batch stuck on a table lock"),
    ],
    "Losses": [
        LOSS_HEADER,
        ("PAY-2610-01", "DOWNTIME", "production_halt", "", "", "", "Hours from the incident duration"),
        ("PAY-2610-01", "LOSS", "lost_revenue", "", 380000, "", "Checkout failures"),
        ("PAY-2610-01", "REPAIR", "engineering", 60, "", "", "October rate"),
        ("PAY-2610-01", "REPAIR", "incident_review", "", "", "", ""),
        ("PAY-2610-02", "LOSS", "lost_revenue", "", 9800, "", ""),
        ("PAY-2610-02", "REPAIR", "engineering", 12, "", "", ""),
        ("PAY-2610-02", "REPAIR", "system_upgrade", "", 650000, "", "Decimal money library rollout"),
        BLANK,
        ("PAY-2610-03", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2610-03", "DOWNTIME", "idle_staff", 12, "", "", ""),
        ("PAY-2610-03", "REPAIR", "engineering", 3, "", "", ""),
        ("PAY-2610-04", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2610-04", "LOSS", "lost_revenue", "", 210000, "", "Orders held for manual review"),
        ("PAY-2610-04", "CUSTOMER", "goodwill", "", 8000, "", "Fee waivers for two merchants"),
        ("PAY-2609-03", "REPAIR", "engineering", 10, "", "", "Corrected hours"),
        ("PAY-2609-03", "LOSS", "customer_churn", "", 42000, "", "A third merchant left"),
    ],
}

LOGISTICS: Sheets = {  # money in USD; dates as ISO text, not Excel dates
    "Incidents": [
        INCIDENT_HEADER,
        ("LOG-2609-07", "Warehouse WMS outage: stock sync failure", "Logistics", "wms", "P2",
         "2026-09-29 06:00", "2026-09-29 16:00", "vendor", "", "", "USD", "Message-queue partition lost"),
        ("LOG-2610-01", "Route planner outage", "Logistics", "route-planner", "P1",
         "2026-10-07 04:00", "2026-10-07 10:30", "internal", "", "", "USD",
         "Database failover did not promote the replica"),
        ("LOG-2610-02", "Shipping label service down", "Logistics", "label-service", "P3",
         "2026-10-15 14:00", "2026-10-15 16:45", "third_party", "", "", "USD",
         "Carrier API changed without notice"),
        ("LOG-2610-03", "Carrier API rate-limit errors", "Logistics", "carrier-gateway", "P4",
         "2026-10-23 09:00", "2026-10-23 09:40", "third_party", "", "", "USD", "Carrier lowered its rate limit"),
    ],
    "Losses": [
        LOSS_HEADER,
        ("LOG-2609-07", "LOSS", "lost_revenue", "", 25000, "", "Late-delivery refunds"),
        ("LOG-2609-07", "DOWNTIME", "production_halt", "", "", "", ""),
        ("LOG-2609-07", "DOWNTIME", "supply_chain", "", 7500, "", "Expedited trucking"),
        ("LOG-2610-01", "DOWNTIME", "production_halt", "", "", "", ""),
        ("LOG-2610-01", "DOWNTIME", "idle_staff", 320, "", "", "Drivers waiting for routes"),
        ("LOG-2610-01", "REPAIR", "vendor_support", 10, "", "", "Database vendor"),
        ("LOG-2610-01", "LOSS", "lost_revenue", "", 41000, "", "Missed delivery windows"),
        ("LOG-2610-02", "DOWNTIME", "production_halt", "", "", "", ""),
        ("LOG-2610-02", "DOWNTIME", "idle_staff", 45, "", "", "Packing line"),
        ("LOG-2610-02", "DOWNTIME", "supply_chain", "", 12000, "CNY", "Penalty paid to a CN carrier"),
        ("LOG-2610-02", "REPAIR", "engineering", 8, "", "", ""),
        ("LOG-2610-03", "REPAIR", "engineering", 2, "", "", ""),
        ("LOG-2610-03", "REPAIR", "incident_review", "", "", "", ""),
    ],
}

CLOUD_TITLE = "Cloud Platform incident register, October 2026"
CLOUD: Sheets = {  # written with a title in A1 and the header in row 3; affected customers
    "Incidents": [
        INCIDENT_HEADER,
        ("CLD-2610-01", "Object storage unavailable in cn-east-2", "Cloud Platform", "object-storage", "P1",
         at("2026-10-04 01:00"), at("2026-10-04 06:30"), "internal", "", "", "CNY",
         "Metadata shard split-brain after a database failover"),
        ("CLD-2610-02", "Customer data leak through a public bucket", "Cloud Platform", "object-storage", "P1",
         at("2026-10-11 16:00"), at("2026-10-12 04:00"), "internal", "CN", 182000, "CNY",
         "Public-read ACL in a provisioning template"),
        ("CLD-2610-03", "EU tenant login failures", "Cloud Platform", "identity", "P2",
         at("2026-10-20 09:00"), at("2026-10-20 11:00"), "vendor", "EU", 2500, "CNY",
         "Identity provider certificate rotation"),
        ("CLD-2610-04", "CDN misconfiguration served stale assets", "Cloud Platform", "cdn", "P3",
         at("2026-10-28 20:00"), at("2026-10-28 20:50"), "internal", "", "", "CNY", "Wrong cache-key rule"),
    ],
    "Losses": [
        LOSS_HEADER,
        ("CLD-2610-01", "DOWNTIME", "production_halt", "", "", "", ""),
        ("CLD-2610-01", "REPAIR", "engineering", 40, "", "", ""),
        ("CLD-2610-01", "CUSTOMER", "free_support", 20, "", "", "Dedicated support for top tenants"),
        ("CLD-2610-02", "LOSS", "data_recovery", 800, "", "", "Re-encrypting exposed objects"),
        ("CLD-2610-02", "REPAIR", "engineering", 120, "", "", ""),
        ("CLD-2610-02", "REPAIR", "vendor_support", 24, "", "", "Forensics firm, rate in USD"),
        ("CLD-2610-03", "REPAIR", "engineering", 16, "", "", ""),
        ("CLD-2610-03", "CUSTOMER", "goodwill", "", 3000, "EUR", "Credit note to an EU tenant"),
        ("CLD-2610-04", "DOWNTIME", "production_halt", "", "", "", ""),
    ],
    "Customers": [
        CUSTOMER_HEADER,
        ("CLD-2610-01", "C-1001", "Huaxia Securities", "Gold", 48000, "", ""),
        ("CLD-2610-01", "C-1002", "Lanting Retail", "Silver", 12000, "", ""),
        ("CLD-2610-01", "C-1003", "Mingde School", "Bronze", 3000, "", 45),
        ("CLD-2610-01", "C-1004", "Qinghe Logistics", "gold", 20000, "", 0),
        ("CLD-2610-01", "C-1006", "Jinghong Games", "Bronze", 5000, "", 300),
        ("CLD-2610-02", "C-1001", "Huaxia Securities", "Gold", 48000, "", ""),
        ("CLD-2610-02", "C-1005", "Yunfan Media", "Silver", 9000, "", 600),
        ("CLD-2610-02", "C-1007", "Anhe Insurance", "Gold", 30000, "", 90),
        ("CLD-2610-03", "C-2001", "Nordlicht GmbH", "Gold", 6000, "EUR", ""),
        ("CLD-2610-03", "C-2002", "Hafenblick AG", "Silver", 2500, "EUR", ""),
        ("CLD-2610-04", "C-1002", "Lanting Retail", "Silver", 12000, "", ""),
    ],
}

RETAIL_ZH: Sheets = {  # Chinese sheet, column and category names
    "事故": [
        ("事故编号", "标题", "业务部门", "系统", "严重级别", "开始时间", "恢复时间", "责任方", "币种", "根本原因"),
        ("RET-2610-01", "门店收银系统宕机", "零售事业部", "门店POS", "P2", at("2026-10-01 10:00"),
         at("2026-10-01 13:30"), "internal", "CNY", "国庆客流高峰数据库连接数耗尽"),
        ("RET-2610-02", "会员积分重复发放", "零售事业部", "会员系统", "P3", at("2026-10-13 09:00"),
         at("2026-10-13 11:00"), "internal", "CNY", "消息队列重复消费"),
        ("RET-2610-03", "线上商城支付页面白屏", "零售事业部", "线上商城", "P1", at("2026-10-30 19:00"),
         at("2026-10-31 01:00"), "vendor", "CNY", "第三方前端脚本加载失败"),
        ("RET-2610-04", "小程序优惠券发放延迟", "零售事业部", "微信小程序", "P4", at("2026-10-31 10:00"),
         at("2026-10-31 10:30"), "internal", "CNY", "定时任务配置错误"),
    ],
    "损失明细": [
        ("事故编号", "类别", "项目", "数量", "金额", "币种", "说明"),
        ("RET-2610-01", "停工损失", "production_halt", "", "", "", "按事故持续时间计算"),
        ("RET-2610-01", "损失赔偿", "lost_revenue", "", 56000, "", "门店销售损失"),
        ("RET-2610-01", "修复费用", "engineering", 14, "", "", ""),
        ("RET-2610-02", "损失赔偿", "lost_revenue", "", 23000, "", "多发积分被核销"),
        ("RET-2610-02", "客户赔偿", "goodwill", "", 5000, "", "会员补偿券"),
        ("RET-2610-03", "停工损失", "production_halt", "", "", "", ""),
        ("RET-2610-03", "损失赔偿", "lost_revenue", "", 150000, "", "双十一预热期间订单损失"),
        ("RET-2610-03", "法律罚款", "contract_penalty", "", 20000, "", "平台服务协议违约金"),
        ("RET-2610-04", "修复费用", "engineering", 2, "", "", ""),
    ],
}

# ================================================================================================
# Writing


class Styles:
    """The few cell formats every sample workbook uses."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.day = book.add_format({"num_format": "yyyy-mm-dd"})


def write_book(path: Path, sheets: Sheets, title: str = "") -> None:
    """One workbook; with a title, it goes in A1 of every sheet and the header moves to row 3."""
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": CREATED, "author": "compensation-report samples"})
    styles = Styles(book)
    for name, rows in sheets.items():
        write_sheet(book.add_worksheet(name), rows, styles, title)
    book.close()


def write_sheet(sheet: Worksheet, rows: list[Row], styles: Styles, title: str) -> None:
    top = 2 if title else 0
    if title:
        sheet.write_string(0, 0, title, styles.title)
    for c, name in enumerate(rows[0]):
        sheet.write_string(top, c, str(name), styles.header)
    for r, row in enumerate(rows[1:], start=top + 1):
        for c, value in enumerate(row):
            write_cell(sheet, r, c, value, styles)
    sheet.set_column(0, len(rows[0]) - 1, 18)
    sheet.freeze_panes(top + 1, 0)


def write_cell(sheet: Worksheet, r: int, c: int, value: object, styles: Styles) -> None:
    """Blank stays blank; date-times, dates and numbers are real Excel values; the rest is text."""
    if value == "" or value is None:
        return
    if isinstance(value, datetime):
        sheet.write_datetime(r, c, value, styles.when)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), styles.day)
    elif isinstance(value, (int, float)):
        sheet.write_number(r, c, value)
    else:
        sheet.write_string(r, c, str(value))


INBOX: dict[str, tuple[Sheets, str]] = {
    "payments_2026-09.xlsx": (PAYMENTS_SEP, ""),
    "payments_2026-10.xlsx": (PAYMENTS_OCT, ""),
    "logistics_2026-10.xlsx": (LOGISTICS, ""),
    "cloud_platform_2026-10.xlsx": (CLOUD, CLOUD_TITLE),
    "零售_2026-10.xlsx": (RETAIL_ZH, ""),
}


def main(out: Path) -> None:
    (out / "rates").mkdir(parents=True, exist_ok=True)
    (out / "inbox").mkdir(exist_ok=True)
    (out / "compensation.toml").write_text(CONFIG, encoding="utf-8")
    standard = {"Settings": SETTINGS, "Rates": [RATE_HEADER, *RATES], "SLA": SLA, "Fines": FINES,
                "Insurance": INSURANCE, "FX": FX}
    write_book(out / "rates" / "rates.xlsx", standard)
    for name, (sheets, title) in INBOX.items():
        write_book(out / "inbox" / name, sheets, title)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
