"""Write sample_inputs/: the default compensation standard and a realistic month of incident workbooks.

Deterministic (fixed document dates): running it again gives byte-identical files.
    python tools/make_samples.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

CREATED = datetime(2026, 11, 1)
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "sample_inputs"

# --------------------------------------------------------------------------------------------
# The compensation standard (reporting currency CNY)

SETTINGS = [("key", "value"),
            ("reporting_currency", "CNY"),
            ("standard_name", "软件生产事故赔偿标准 / Software production incident compensation standard"),
            ("version", "2026.2")]

RATE_HEADER = ("category", "item", "name_en", "name_zh", "basis", "unit", "rate", "currency", "severity",
               "max_amount", "valid_from", "valid_to", "method_en", "method_zh", "responsible")
Y2026 = date(2026, 1, 1)
BU, OPS, CS, LEGAL = ("Business unit / 业务部门", "IT operations / 运维部", "Customer service / 客服部",
                      "Legal / 法务部")
RATES = [
    ("LOSS", "lost_revenue", "Lost revenue", "收入损失", "direct", "amount", 1, "", "", "", Y2026, "",
     "Reported lost revenue × 100%", "按申报的收入损失全额计算", BU),
    ("LOSS", "data_recovery", "Data recovery", "数据恢复", "per_unit", "GB", 80, "CNY", "", 200000, Y2026, "",
     "GB restored × 80 per GB, at most 200,000 per incident", "恢复数据量(GB) × 80元/GB,每起事故上限20万元", OPS),
    ("LOSS", "customer_churn", "Customer churn", "客户流失", "direct", "amount", 0.5, "", "", "", Y2026, "",
     "Estimated churn revenue × 50%", "预计流失收入 × 50%", BU),
    ("DOWNTIME", "production_halt", "Production halt", "生产停滞", "per_unit", "hour", 60000, "CNY", "P1",
     600000, Y2026, "", "Outage hours × 60,000, at most 600,000", "停机小时 × 6万元/小时,上限60万元", OPS),
    ("DOWNTIME", "production_halt", "Production halt", "生产停滞", "per_unit", "hour", 25000, "CNY", "P2",
     300000, Y2026, "", "Outage hours × 25,000, at most 300,000", "停机小时 × 2.5万元/小时,上限30万元", OPS),
    ("DOWNTIME", "production_halt", "Production halt", "生产停滞", "per_unit", "hour", 8000, "CNY", "P3", "",
     Y2026, "", "Outage hours × 8,000", "停机小时 × 8000元/小时", OPS),
    ("DOWNTIME", "production_halt", "Production halt", "生产停滞", "per_unit", "hour", 2000, "CNY", "P4", "",
     Y2026, "", "Outage hours × 2,000", "停机小时 × 2000元/小时", OPS),
    ("DOWNTIME", "idle_staff", "Idle staff", "员工闲置", "per_unit", "person_hour", 150, "CNY", "", "", Y2026, "",
     "Idle person-hours × 150", "闲置工时 × 150元/人时", BU),
    ("DOWNTIME", "supply_chain", "Supply-chain disruption", "供应链中断", "direct", "amount", 1, "", "", "",
     Y2026, "", "Reported supply-chain cost × 100%", "按申报的供应链中断成本全额计算", BU),
    ("CUSTOMER", "sla_credit", "SLA credit", "SLA服务赔偿", "direct", "customer", 1, "", "", "", Y2026, "",
     "Priced from the SLA sheet: monthly fee × credit %", "按SLA赔偿表:月费 × 赔偿比例", CS),
    ("CUSTOMER", "service_extension", "Service extension", "服务延期", "direct", "customer", 1, "", "", "", Y2026,
     "", "Priced from the SLA sheet: monthly fee × extension days / 30", "按SLA赔偿表:月费 × 延期天数 / 30", CS),
    ("CUSTOMER", "goodwill", "Goodwill compensation", "经济补偿", "direct", "amount", 1, "", "", "", Y2026, "",
     "Agreed goodwill payment × 100%", "按约定的补偿金额全额计算", CS),
    ("CUSTOMER", "free_support", "Free technical support", "免费技术支持", "per_unit", "hour", 600, "CNY", "", "",
     Y2026, "", "Support hours given × 600", "提供的支持小时 × 600元/小时", CS),
    ("FINE", "regulatory", "Regulatory fine", "监管罚款", "fixed", "case", 0, "", "", "", Y2026, "",
     "Priced from the Fines sheet by jurisdiction", "按法律罚款表及司法辖区计算", LEGAL),
    ("FINE", "contract_penalty", "Contract penalty", "合同违约金", "direct", "amount", 1, "", "", "", Y2026, "",
     "Penalty as invoiced × 100%", "按对方开具的违约金全额计算", LEGAL),
    ("REPAIR", "engineering", "Engineering work", "软件修复", "per_unit", "person_hour", 400, "CNY", "", "",
     Y2026, date(2026, 9, 30), "Person-hours × 400 (until 30 Sep 2026)", "修复工时 × 400元/人时(至2026-09-30)", OPS),
    ("REPAIR", "engineering", "Engineering work", "软件修复", "per_unit", "person_hour", 450, "CNY", "", "",
     date(2026, 10, 1), "", "Person-hours × 450 (from 1 Oct 2026)", "修复工时 × 450元/人时(2026-10-01起)", OPS),
    ("REPAIR", "vendor_support", "Vendor support", "技术支持费用", "per_unit", "hour", 180, "USD", "", "", Y2026,
     "", "Vendor hours × 180 USD", "供应商支持小时 × 180美元/小时", OPS),
    ("REPAIR", "system_upgrade", "System upgrade", "系统升级", "direct", "amount", 1, "", "", 500000, Y2026, "",
     "Upgrade cost × 100%, at most 500,000 per incident", "升级费用全额计算,每起事故上限50万元", OPS),
    ("REPAIR", "incident_review", "Incident review", "事故复盘", "fixed", "case", 5000, "CNY", "", "", Y2026, "",
     "5,000 per incident review", "每次复盘5000元", OPS),
]

SLA = [("sla_tier", "min_outage_minutes", "credit_percent", "extension_days"),
       ("Gold", 0, 0, 0), ("Gold", 15, 10, 3), ("Gold", 60, 25, 7), ("Gold", 240, 50, 15), ("Gold", 720, 100, 30),
       ("Silver", 30, 5, 0), ("Silver", 120, 10, 3), ("Silver", 480, 25, 7),
       ("Bronze", 60, 5, 0), ("Bronze", 480, 10, 0)]

FINES = [("jurisdiction", "fixed_amount", "per_record", "max_amount", "currency", "valid_from", "valid_to"),
         ("CN", 50000, 2, 1000000, "CNY", Y2026, ""),
         ("EU", 20000, 5, 20000000, "EUR", Y2026, "")]

INSURANCE = [("policy_id", "insurer", "covered", "deductible", "coinsurance_percent", "per_incident_limit",
              "aggregate_limit", "waiting_period_hours", "currency", "valid_from", "valid_to"),
             ("CYB-2026-001", "Huatai Cyber BI", "LOSS,DOWNTIME,REPAIR.vendor_support", 50000, 10, 400000, 1000000,
              8, "CNY", Y2026, date(2026, 12, 31)),
             ("EO-2026-017", "Meridian Tech E&O", "CUSTOMER", 2000, 0, 30000, 60000, 0, "USD", Y2026,
              date(2026, 12, 31))]

FX = [("currency", "valid_from", "rate"),
      ("USD", Y2026, 7.1234), ("USD", date(2026, 10, 1), 7.185),
      ("EUR", Y2026, 7.7012), ("EUR", date(2026, 10, 1), 7.8125)]

# --------------------------------------------------------------------------------------------
# Incident workbooks

INCIDENT_HEADER = ("incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at",
                   "responsible_party", "jurisdiction", "records_affected", "currency", "root_cause")
LOSS_HEADER = ("incident_id", "category", "item", "quantity", "amount", "currency", "note")
CUSTOMER_HEADER = ("incident_id", "customer_id", "customer_name", "sla_tier", "monthly_fee", "currency",
                   "outage_minutes")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


PAYMENTS_SEP = {
    "Incidents": [INCIDENT_HEADER,
        ("PAY-2609-01", "Card gateway timeouts during payday peak", "Payments", "payment-gateway", "P1",
         at("2026-09-05 09:10"), at("2026-09-05 21:40"), "vendor", "", "", "", "Connection pool exhausted after a config push"),
        ("PAY-2609-02", "Refund batch posted twice", "Payments", "refund-service", "P2",
         at("2026-09-12 02:00"), at("2026-09-12 06:30"), "internal", "", "", "", "Retry without idempotency key"),
        ("PAY-2609-03", "Settlement report delayed", "Payments", "settlement", "P3",
         at("2026-09-20 08:00"), at("2026-09-20 09:15"), "internal", "", "", "", "Batch job stuck on a lock"),
        ("PAY-2609-04", "3-D Secure page errors", "Payments", "3ds-proxy", "P2",
         at("2026-09-27 19:00"), at("2026-09-28 01:00"), "third_party", "", "", "", "Issuer ACS certificate expired")],
    "Losses": [LOSS_HEADER,
        ("PAY-2609-01", "LOSS", "lost_revenue", "", 420000, "", "Declined card sales, finance estimate"),
        ("PAY-2609-01", "DOWNTIME", "production_halt", "", "", "", "Quantity from the incident duration"),
        ("PAY-2609-01", "DOWNTIME", "idle_staff", 240, "", "", "Call-centre agents idle"),
        ("PAY-2609-01", "REPAIR", "engineering", 80, "", "", ""),
        ("PAY-2609-01", "REPAIR", "incident_review", "", "", "", ""),
        ("PAY-2609-02", "LOSS", "lost_revenue", "", 18500.5, "", "Refunds not recovered"),
        ("PAY-2609-02", "LOSS", "data_recovery", 120, "", "", "Ledger rebuild"),
        ("PAY-2609-02", "REPAIR", "engineering", 16, "", "", ""),
        ("PAY-2609-03", "REPAIR", "engineering", 6, "", "", ""),
        ("PAY-2609-03", "LOSS", "customer_churn", "", 30000, "", "Two merchants at risk"),
        ("PAY-2609-04", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2609-04", "REPAIR", "vendor_support", 4, "", "", "Issuer support call")],
}

PAYMENTS_OCT = {
    "Incidents": [INCIDENT_HEADER,
        ("PAY-2610-01", "Payment API 503 errors after deploy", "Payments", "payment-api", "P1",
         at("2026-10-02 11:00"), at("2026-10-02 20:30"), "internal", "", "", "", "Bad canary analysis"),
        ("PAY-2610-02", "Currency conversion rounding bug", "Payments", "fx-service", "P3",
         at("2026-10-09 10:00"), at("2026-10-09 14:00"), "internal", "", "", "", "Float arithmetic on amounts"),
        ("PAY-2610-03", "Merchant dashboard outage", "Payments", "merchant-portal", "P4",
         at("2026-10-18 22:00"), at("2026-10-18 23:20"), "internal", "", "", "", "Expired TLS certificate"),
        ("PAY-2610-04", "Fraud-scoring service degraded", "Payments", "fraud-scoring", "P2",
         at("2026-10-26 13:30"), at("2026-10-27 03:30"), "vendor", "", "", "", "Model host out of memory"),
        ("PAY-2609-03", "Settlement report delayed (corrected)", "Payments", "settlement", "P3",
         at("2026-09-20 08:00"), at("2026-09-20 09:15"), "internal", "", "", "", "Batch job stuck on a lock")],
    "Losses": [LOSS_HEADER,
        ("PAY-2610-01", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2610-01", "LOSS", "lost_revenue", "", 380000, "", ""),
        ("PAY-2610-01", "REPAIR", "engineering", 60, "", "", ""),
        ("PAY-2610-01", "REPAIR", "incident_review", "", "", "", ""),
        ("PAY-2610-02", "LOSS", "lost_revenue", "", 9800, "", ""),
        ("PAY-2610-02", "REPAIR", "engineering", 12, "", "", ""),
        ("PAY-2610-02", "REPAIR", "system_upgrade", "", 650000, "", "Decimal money library rollout"),
        ("PAY-2610-03", "DOWNTIME", "idle_staff", 12, "", "", ""),
        ("PAY-2610-03", "REPAIR", "engineering", 3, "", "", ""),
        ("PAY-2610-04", "DOWNTIME", "production_halt", "", "", "", ""),
        ("PAY-2610-04", "LOSS", "lost_revenue", "", 210000, "", ""),
        ("PAY-2609-03", "REPAIR", "engineering", 10, "", "", "Corrected hours"),
        ("PAY-2609-03", "LOSS", "customer_churn", "", 42000, "", "Third merchant lost")],
}

LOGISTICS = {  # dates as ISO text, money in USD
    "Incidents": [INCIDENT_HEADER,
        ("LOG-2609-07", "Warehouse WMS sync failure", "Logistics", "wms", "P2", "2026-09-29 06:00",
         "2026-09-29 15:00", "vendor", "", "", "USD", "Message queue partition lost"),
        ("LOG-2610-01", "Route planner outage", "Logistics", "route-planner", "P1", "2026-10-07 04:00",
         "2026-10-07 10:30", "internal", "", "", "USD", "Database failover did not promote replica"),
        ("LOG-2610-02", "Label printing service down", "Logistics", "label-service", "P3", "2026-10-15 14:00",
         "2026-10-15 16:45", "third_party", "", "", "USD", "Carrier API change"),
        ("LOG-2610-03", "Carrier API rate-limit errors", "Logistics", "carrier-gateway", "P4", "2026-10-23 09:00",
         "2026-10-23 09:40", "third_party", "", "", "USD", "Rate limit lowered without notice")],
    "Losses": [LOSS_HEADER,
        ("LOG-2609-07", "LOSS", "lost_revenue", "", 25000, "", "Late-delivery refunds"),
        ("LOG-2609-07", "DOWNTIME", "production_halt", "", "", "", ""),
        ("LOG-2609-07", "DOWNTIME", "supply_chain", "", 8000, "", "Expedited trucking"),
        ("LOG-2610-01", "DOWNTIME", "production_halt", "", "", "", ""),
        ("LOG-2610-01", "DOWNTIME", "idle_staff", 320, "", "", "Drivers waiting for routes"),
        ("LOG-2610-01", "REPAIR", "vendor_support", 10, "", "", "Database vendor"),
        ("LOG-2610-01", "LOSS", "lost_revenue", "", 41000, "", ""),
        ("LOG-2610-02", "DOWNTIME", "idle_staff", 45, "", "", ""),
        ("LOG-2610-02", "REPAIR", "engineering", 8, "", "", ""),
        ("LOG-2610-03", "REPAIR", "engineering", 2, "", "", ""),
        ("LOG-2610-03", "REPAIR", "incident_review", "", "", "", "")],
}

CLOUD = {  # a title above the header; one blank row in Losses; affected customers
    "Incidents": [INCIDENT_HEADER,
        ("CLD-2610-01", "Object storage unavailable in cn-east", "Cloud Platform", "object-storage", "P1",
         at("2026-10-04 01:00"), at("2026-10-04 06:30"), "internal", "", "", "", "Metadata shard split-brain"),
        ("CLD-2610-02", "Customer data exposed by a misconfigured bucket", "Cloud Platform", "object-storage", "P1",
         at("2026-10-11 16:00"), at("2026-10-12 04:00"), "internal", "CN", 182000, "", "Public-read ACL in a template"),
        ("CLD-2610-03", "EU tenant login failures", "Cloud Platform", "identity", "P2",
         at("2026-10-20 09:00"), at("2026-10-20 11:00"), "vendor", "EU", 2500, "", "IdP certificate rotation"),
        ("CLD-2610-04", "CDN misconfiguration", "Cloud Platform", "cdn", "P3",
         at("2026-10-28 20:00"), at("2026-10-28 20:50"), "internal", "", "", "", "Wrong cache key rule")],
    "Losses": [LOSS_HEADER,
        ("CLD-2610-01", "DOWNTIME", "production_halt", "", "", "", ""),
        ("CLD-2610-01", "REPAIR", "engineering", 40, "", "", ""),
        ("CLD-2610-01", "CUSTOMER", "free_support", 20, "", "", "Dedicated support for top tenants"),
        (),
        ("CLD-2610-02", "REPAIR", "engineering", 120, "", "", ""),
        ("CLD-2610-02", "REPAIR", "vendor_support", 24, "", "", "Forensics firm"),
        ("CLD-2610-02", "LOSS", "data_recovery", 800, "", "", "Re-encrypting exposed objects"),
        ("CLD-2610-03", "CUSTOMER", "goodwill", "", 3000, "EUR", "Credit note to tenant"),
        ("CLD-2610-04", "DOWNTIME", "production_halt", "", "", "", "")],
    "Customers": [CUSTOMER_HEADER,
        ("CLD-2610-01", "C-1001", "Huaxia Securities", "Gold", 48000, "", ""),
        ("CLD-2610-01", "C-1002", "Lanting Retail", "Silver", 12000, "", ""),
        ("CLD-2610-01", "C-1003", "Mingde School", "Bronze", 3000, "", 45),
        ("CLD-2610-01", "C-1004", "Qinghe Logistics", "gold", 20000, "", 0),
        ("CLD-2610-02", "C-1001", "Huaxia Securities", "Gold", 48000, "", ""),
        ("CLD-2610-02", "C-1005", "Yunfan Media", "Silver", 9000, "", 600),
        ("CLD-2610-03", "C-2001", "Nordlicht GmbH", "Gold", 6000, "EUR", ""),
        ("CLD-2610-04", "C-1002", "Lanting Retail", "Silver", 12000, "", "")],
}

RETAIL_ZH = {  # Chinese sheet and column names, Chinese category names
    "事故": [("事故编号", "标题", "业务部门", "系统", "严重级别", "开始时间", "恢复时间", "责任方", "根本原因"),
           ("RET-2610-01", "门店收银系统宕机", "零售事业部", "门店POS", "P2", at("2026-10-01 10:00"),
            at("2026-10-01 13:30"), "internal", "数据库连接数耗尽"),
           ("RET-2610-02", "会员积分重复发放", "零售事业部", "会员系统", "P3", at("2026-10-13 09:00"),
            at("2026-10-13 11:00"), "internal", "消息重复消费"),
           ("RET-2610-03", "线上商城支付页面白屏", "零售事业部", "线上商城", "P1", at("2026-10-30 19:00"),
            at("2026-10-31 01:00"), "vendor", "第三方前端脚本故障")],
    "损失明细": [("事故编号", "类别", "项目", "数量", "金额", "说明"),
             ("RET-2610-01", "停工损失", "production_halt", "", "", "按事故时长计算"),
             ("RET-2610-01", "损失赔偿", "lost_revenue", "", 56000, "门店销售损失"),
             ("RET-2610-01", "修复费用", "engineering", 14, "", ""),
             ("RET-2610-02", "损失赔偿", "lost_revenue", "", 23000, "多发积分核销"),
             ("RET-2610-02", "客户赔偿", "goodwill", "", 5000, "会员补偿券"),
             ("RET-2610-03", "停工损失", "production_halt", "", "", ""),
             ("RET-2610-03", "损失赔偿", "lost_revenue", "", 150000, "双十一预热期间订单损失"),
             ("RET-2610-03", "法律罚款", "contract_penalty", "", 20000, "平台服务协议违约金")],
}


# --------------------------------------------------------------------------------------------
# Writing


def write_book(path: Path, sheets: dict[str, list[tuple]], header_row: int = 0, title: str = "") -> None:
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": CREATED, "author": "compensation-report samples"})
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        if title:
            ws.write_string(0, 0, title, bold)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                _write(ws, header_row + r, c, value, bold if r == 0 else None, when, day)
        ws.set_column(0, len(rows[0]) - 1, 16)
        ws.freeze_panes(header_row + 1, 0)
    book.close()


def _write(ws, r: int, c: int, value, header, when, day) -> None:
    if value == "" or value is None:
        return
    if isinstance(value, datetime):
        ws.write_datetime(r, c, value, when)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value)
    else:
        ws.write_string(r, c, value, header)


CONFIG = """[report]
rates = "rates/rates.xlsx"
locale = "en"                      # or "zh-CN"

[inbox]
settle_seconds = 2                 # files modified more recently are left for the next run

[email]
mode = "outbox"                    # "outbox": write .eml files only; "smtp": send them
from = "compensation-report@example.com"
to = ["finance@example.com"]

[email.smtp]
host = "localhost"
port = 25
security = "none"                  # "starttls" or "ssl"
username = ""
password_env = "SMTP_PASSWORD"     # the password is read from this environment variable
"""


def main() -> None:
    (OUT / "rates").mkdir(parents=True, exist_ok=True)
    (OUT / "inbox").mkdir(exist_ok=True)
    (OUT / "compensation.toml").write_text(CONFIG, encoding="utf-8")
    write_book(OUT / "rates" / "rates.xlsx", {"Settings": SETTINGS, "Rates": [RATE_HEADER, *RATES], "SLA": SLA,
                                              "Fines": FINES, "Insurance": INSURANCE, "FX": FX})
    write_book(OUT / "inbox" / "payments_2026-09.xlsx", PAYMENTS_SEP)
    write_book(OUT / "inbox" / "payments_2026-10.xlsx", PAYMENTS_OCT)
    write_book(OUT / "inbox" / "logistics_2026-10.xlsx", LOGISTICS)
    write_book(OUT / "inbox" / "cloud_platform_2026-10.xlsx", CLOUD, header_row=2,
               title="Cloud Platform incident register, October 2026")
    write_book(OUT / "inbox" / "零售_2026-10.xlsx", RETAIL_ZH)


if __name__ == "__main__":
    main()
