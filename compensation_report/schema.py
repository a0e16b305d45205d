"""What the input workbooks look like (SPEC sections 2 and 3): sheets, columns, kinds of value.

Declarative on purpose: the reader, the validator and the docs all follow these tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES = ("LOSS", "DOWNTIME", "CUSTOMER", "FINE", "REPAIR")
CATEGORY_ZH = {
    "LOSS": "损失赔偿",
    "DOWNTIME": "停工损失",
    "CUSTOMER": "客户赔偿",
    "FINE": "法律罚款",
    "REPAIR": "修复费用",
    "INSURANCE": "保险赔偿",
}
SEVERITIES = ("P1", "P2", "P3", "P4")
PARTIES = ("internal", "vendor", "third_party")
BASES = ("per_unit", "direct", "fixed")
# Items priced from another sheet than Losses (SPEC 4 rules 3 and 4), and where
DISPLAY_ITEMS = {("CUSTOMER", "sla_credit"): "Customers sheet (SLA credit)",
                 ("CUSTOMER", "service_extension"): "Customers sheet (SLA extension days)",
                 ("FINE", "regulatory"): "Incidents sheet (jurisdiction and records affected)"}
EXCEL_SUFFIXES = (".xlsx", ".xlsm")  # the workbooks taken; others are rejected with a word on saving as .xlsx


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    zh: str = ""
    about: tuple[str, str] = ("", "")  # what goes in it, in English and in Chinese (templates, docs)


@dataclass(frozen=True)
class SheetSpec:
    name: str
    columns: tuple[Column, ...]
    zh: str = ""
    required: bool = True
    min_rows: int = 0

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def normalize_name(text: object) -> str:
    """Trim, ignore case, treat `_` as a space and collapse runs of spaces (SPEC 4, names)."""
    return re.sub(r"[\s_]+", " ", str(text)).strip().casefold()


def sheet_aliases(spec: SheetSpec) -> frozenset[str]:
    """The normalised names a sheet answers to: its English name and its Chinese alias."""
    return frozenset({normalize_name(spec.name)} | ({normalize_name(spec.zh)} if spec.zh else set()))


def sheet_names(specs: tuple[SheetSpec, ...]) -> frozenset[str]:
    return frozenset().union(*(sheet_aliases(spec) for spec in specs))


INCIDENTS = SheetSpec(
    "Incidents",
    zh="事故",
    min_rows=1,
    columns=(
        Column("incident_id", "id", True, "事故编号",
               about=("Your id for the incident, unique in this workbook; "
                      "a later workbook with the same id replaces it",
                      "事故编号，在本工作簿内唯一；以后的工作簿用同一编号即替换此事故")),
        Column("title", "text", True, "标题",
               about=("A short description", "简短描述")),
        Column("business_unit", "text", True, "业务部门",
               about=("The business unit that owns the system", "系统所属的业务部门")),
        Column("system", "text", True, "系统",
               about=("The system that failed", "出故障的系统")),
        Column("severity", "severity", True, "严重级别",
               about=("P1, P2, P3 or P4", "P1、P2、P3 或 P4")),
        Column("started_at", "datetime", True, "开始时间",
               about=("When it started: a date and time (2026-10-03 14:05)",
                      "开始时间：日期和时间（2026-10-03 14:05）")),
        Column("resolved_at", "datetime", True, "恢复时间",
               about=("When service was back: not before started_at", "恢复时间：不早于开始时间")),
        Column("responsible_party", "party", False, "责任方",
               about=("internal, vendor or third_party; blank means internal",
                      "internal（内部）、vendor（供应商）或 third_party（第三方）；空白即内部")),
        Column("jurisdiction", "code", False, "司法辖区",
               about=("Where a regulator may fine it (a code on the Fines sheet, e.g. CN, EU)",
                      "可能处以罚款的司法辖区（罚款表上的代码，如 CN、EU）")),
        Column("records_affected", "whole", False, "受影响记录数",
               about=("Personal records exposed: a whole number", "受影响的个人记录数：整数")),
        Column("currency", "currency", False, "币种",
               about=("Currency of the amounts; blank: the reporting currency", "金额的币种；空白即报告币种")),
        Column("root_cause", "text", False, "根本原因",
               about=("What caused it", "根本原因")),
    ),
)

LOSSES = SheetSpec(
    "Losses",
    zh="损失明细",
    columns=(
        Column("incident_id", "id", True, "事故编号",
               about=("An incident_id of the Incidents sheet", "事故表上的事故编号")),
        Column("category", "category", True, "类别",
               about=("LOSS, DOWNTIME, CUSTOMER, FINE or REPAIR (or the Chinese name)",
                      "LOSS、DOWNTIME、CUSTOMER、FINE 或 REPAIR（或中文名称）")),
        Column("item", "id", True, "项目",
               about=("An item of that category on the standard's Rates sheet", "赔偿标准中该类别下的项目")),
        Column("quantity", "number", False, "数量",
               about=("How many units (hours, GB, people…): for items priced per unit; "
                      "blank hours: the incident's duration",
                      "数量（小时、GB、人等）：按单位计价的项目填写；计价单位为小时且数量留空时，按事故持续时间计")),
        Column("amount", "number", False, "金额",
               about=("The amount lost, for items priced on the reported amount",
                      "损失金额：按申报金额计价的项目填写")),
        Column("currency", "currency", False, "币种",
               about=("Currency of the amount; blank: the incident's", "金额币种；空白即事故的币种")),
        Column("note", "text", False, "说明",
               about=("Anything the reader should know", "补充说明")),
    ),
)

CUSTOMERS = SheetSpec(
    "Customers",
    zh="受影响客户",
    required=False,
    columns=(
        Column("incident_id", "id", True, "事故编号",
               about=("An incident_id of the Incidents sheet", "事故表上的事故编号")),
        Column("customer_id", "id", True, "客户编号",
               about=("The customer's id", "客户编号")),
        Column("customer_name", "text", False, "客户名称",
               about=("The customer's name", "客户名称")),
        Column("sla_tier", "text", True, "服务等级",
               about=("The customer's tier on the standard's SLA sheet", "赔偿标准 SLA 表上的服务等级")),
        Column("monthly_fee", "number", True, "月费",
               about=("What the customer pays a month", "客户每月费用")),
        Column("currency", "currency", False, "币种",
               about=("Currency of the fee; blank: the incident's", "月费币种；空白即事故的币种")),
        Column("outage_minutes", "whole", False, "中断分钟",
               about=("Minutes the customer was down; blank: the incident's duration",
                      "客户中断分钟数；空白即事故持续时间")),
    ),
)

INCIDENT_WORKBOOK = (INCIDENTS, LOSSES, CUSTOMERS)

SETTINGS = SheetSpec(
    "Settings",
    zh="设置",
    min_rows=1,
    columns=(
        Column("key", "text", True,
               about=("reporting_currency (required), standard_name, version, or ordinary_items (display "
                      "items Losses may list, e.g. CUSTOMER.sla_credit)",
                      "reporting_currency（必填）、standard_name、version 或 ordinary_items（损失明细可列出的展示项目，"
                      "如 CUSTOMER.sla_credit）")),
        Column("value", "text", False,
               about=("The key's value", "该键的值")),
    ),
)

VALIDITY = (  # the date range of a Rates or Fines row
    Column("valid_from", "date", about=("First day the row applies", "生效日期")),
    Column("valid_to", "date", about=("Last day it applies; blank: open-ended", "失效日期；空白即长期有效")),
)

RATES = SheetSpec(
    "Rates",
    zh="赔偿标准",
    min_rows=1,
    columns=(
        Column("category", "category", True,
               about=("The item's category, as on the Losses sheet",
                      "项目类别，与损失明细表相同")),
        Column("item", "id", True,
               about=("The item's id, as the Losses sheet names it",
                      "项目编号，损失明细表以此引用")),
        Column("name_en", "text",
               about=("The item's name in English",
                      "项目英文名称")),
        Column("name_zh", "text",
               about=("The item's name in Chinese",
                      "项目中文名称")),
        Column("basis", "basis", True,
               about=("per_unit (quantity × rate), direct (reported amount × rate) or fixed (rate per incident)",
                      "per_unit（数量 × 费率）、direct（申报金额 × 费率）或 fixed（每起事故固定金额）")),
        Column("unit", "text",
               about=("The unit priced: hour, GB, person_hour, customer, case…",
                      "计价单位：hour、GB、person_hour、customer、case 等")),
        Column("rate", "number", True,
               about=("Price per unit, factor on the amount (1 = full), or amount per incident",
                      "单价、金额系数（1 为全额）或每起事故金额")),
        Column("currency", "currency",
               about=("Currency of the rate (per_unit, fixed)",
                      "费率币种（per_unit、fixed）")),
        Column("severity", "severity",
               about=("P1–P4, or blank for every severity",
                      "P1–P4，空白适用于所有级别")),
        Column("max_amount", "number",
               about=("Cap per incident and item, in the reporting currency",
                      "每起事故每个项目的上限（报告币种）")),
        *VALIDITY,
        Column("method_en", "text",
               about=("How the amount is calculated, in English",
                      "计算方法（英文）")),
        Column("method_zh", "text",
               about=("How the amount is calculated, in Chinese",
                      "计算方法（中文）")),
        Column("responsible", "text",
               about=("Who bears it",
                      "承担方")),
    ),
)

SLA = SheetSpec(
    "SLA",
    zh="SLA赔偿",
    required=False,
    columns=(
        Column("sla_tier", "text", True,
               about=("A customer tier (gold, silver…)",
                      "客户服务等级（gold、silver 等）")),
        Column("min_outage_minutes", "whole", True,
               about=("The step applies from this many minutes of outage",
                      "中断达到该分钟数起适用此档")),
        Column("credit_percent", "number", True,
               about=("Credit as a percent of the monthly fee (10 = 10 %)",
                      "赔偿为月费的百分比（10 即 10%）")),
        Column("extension_days", "number",
               about=("Days of service given free, priced as fee / 30 a day",
                      "免费延长服务天数，按月费 / 30 每天计价")),
    ),
)

FINES = SheetSpec(
    "Fines",
    zh="法律罚款",
    required=False,
    columns=(
        Column("jurisdiction", "code", True,
               about=("A code the Incidents sheet uses (CN, EU…)",
                      "事故表使用的代码（CN、EU 等）")),
        Column("fixed_amount", "number",
               about=("A fixed part of the fine",
                      "罚款固定部分")),
        Column("per_record", "number",
               about=("Amount per affected record",
                      "每条受影响记录的金额")),
        Column("max_amount", "number",
               about=("The fine's cap",
                      "罚款上限")),
        Column("currency", "currency",
               about=("Currency of the amounts",
                      "金额币种")),
        *VALIDITY,
    ),
)

INSURANCE = SheetSpec(
    "Insurance",
    zh="保险",
    required=False,
    columns=(
        Column("policy_id", "id", True,
               about=("The policy's id",
                      "保单号")),
        Column("insurer", "text",
               about=("The insurer",
                      "保险公司")),
        Column("covered", "text", True,
               about=("Categories or CATEGORY.item it covers, comma-separated",
                      "承保的类别或 类别.项目，以逗号分隔")),
        Column("deductible", "number",
               about=("Deductible per incident",
                      "每起事故免赔额")),
        Column("coinsurance_percent", "number",
               about=("Share the company bears after the deductible (20 = 20 %)",
                      "免赔后公司自担比例（20 即 20%）")),
        Column("per_incident_limit", "number",
               about=("Most the policy pays per incident",
                      "每起事故赔付上限")),
        Column("aggregate_limit", "number",
               about=("Most the policy pays in all",
                      "累计赔付上限")),
        Column("waiting_period_hours", "number",
               about=("Downtime hours not covered at the start of an incident",
                      "事故开始时不承保的停工小时数")),
        Column("currency", "currency",
               about=("Currency of the policy's amounts",
                      "保单金额币种")),
        Column("valid_from", "date",
               about=("First day of cover",
                      "承保开始日期")),
        Column("valid_to", "date",
               about=("Last day of cover; blank: open-ended",
                      "承保结束日期；空白即长期有效")),
    ),
)

FX = SheetSpec(
    "FX",
    zh="汇率",
    required=False,
    columns=(
        Column("currency", "currency", True,
               about=("A currency other than the reporting one",
                      "报告币种以外的币种")),
        Column("valid_from", "date", True,
               about=("First day the rate applies",
                      "汇率生效日期")),
        Column("rate", "number", True,
               about=("Reporting-currency units per 1 unit of it",
                      "每 1 单位该币种折合的报告币种金额")),
    ),
)

RATES_WORKBOOK = (SETTINGS, RATES, SLA, FINES, INSURANCE, FX)
