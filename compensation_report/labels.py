"""Every word a reader of the report sees, in each locale. One table, not strings spread in code."""

from __future__ import annotations

from decimal import Decimal

SHEETS = {
    "summary": ("Summary", "汇总"),
    "standard": ("Standard", "赔偿标准表"),
    "incidents": ("Incidents", "事故汇总"),
    "lines": ("Lines", "赔偿明细"),
    "customers": ("Customers", "客户赔偿"),
    "business_units": ("Business Units", "按部门"),
    "insurance": ("Insurance", "保险"),
    "trend": ("Trend", "趋势"),
    "warnings": ("Warnings", "校验"),
    "run_info": ("Run Info", "运行信息"),
}

# Column headers: the English label is the SPEC's column name.
HEADERS_EN = {
    "incident_id": "Incident", "title": "Title", "business_unit": "Business unit", "system": "System",
    "severity": "Severity", "started_at": "Started", "resolved_at": "Resolved", "duration_hours": "Duration (hours)",
    "LOSS": "Loss", "DOWNTIME": "Downtime", "CUSTOMER": "Customer", "FINE": "Fines", "REPAIR": "Repair",
    "gross": "Gross", "recovery": "Recovery", "net": "Net", "responsible_party": "Responsible party",
    "status": "Status", "category": "Category", "item": "Item", "basis": "Basis", "quantity": "Quantity",
    "unit": "Unit", "rate": "Rate", "currency": "Currency", "amount_original": "Amount (own currency)",
    "fx_rate": "FX rate", "amount": "Amount", "source_file": "Source file", "source_sheet": "Source sheet",
    "source_row": "Source row", "rate_sheet": "Standard sheet", "rate_row": "Standard row",
    "customer_id": "Customer", "policy_id": "Policy", "note": "Note", "name_en": "Name", "name_zh": "Name (Chinese)",
    "method_en": "Method", "method_zh": "Method (Chinese)", "max_amount": "Cap", "valid_from": "Valid from",
    "valid_to": "Valid to", "responsible": "Borne by", "customer_name": "Customer name", "sla_tier": "SLA tier",
    "monthly_fee": "Monthly fee", "outage_minutes": "Outage (minutes)", "credit_percent": "Credit %",
    "credit": "SLA credit", "extension_days": "Extension (days)", "extension": "Service extension",
    "cap_adjustment": "Cap adjustment", "insurer": "Insurer", "incidents": "Incidents", "eligible": "Eligible",
    "deductible": "Deductible", "coinsurance": "Coinsurance", "recovered": "Recovered",
    "aggregate_limit": "Aggregate limit", "aggregate_used": "Aggregate used", "aggregate_left": "Aggregate left",
    "period": "Period", "code": "Code", "message": "Message", "policy_currency": "Policy currency",
    "sha256": "SHA-256", "file_name": "File", "received_at": "Received", "name": "Name",
    "key": "Item", "value": "Value", "share": "Share",
}
HEADERS = {
    "incident_id": "事故编号", "title": "标题", "business_unit": "业务部门", "system": "系统",
    "severity": "严重级别", "started_at": "开始时间", "resolved_at": "恢复时间", "duration_hours": "持续小时",
    "LOSS": "损失赔偿", "DOWNTIME": "停工损失", "CUSTOMER": "客户赔偿", "FINE": "法律罚款", "REPAIR": "修复费用",
    "gross": "赔偿总额", "recovery": "保险赔付", "net": "净额", "responsible_party": "责任方", "status": "状态",
    "category": "类别", "item": "项目", "basis": "计价方式", "quantity": "数量", "unit": "单位", "rate": "费率",
    "currency": "币种", "amount_original": "原币金额", "fx_rate": "汇率", "amount": "金额",
    "source_file": "来源文件", "source_sheet": "来源工作表", "source_row": "来源行", "rate_sheet": "标准工作表",
    "rate_row": "标准行", "customer_id": "客户编号", "policy_id": "保单号", "note": "说明",
    "name_en": "名称(英)", "name_zh": "名称", "method_en": "计算方法(英)", "method_zh": "计算方法",
    "max_amount": "上限", "valid_from": "生效日期", "valid_to": "失效日期", "responsible": "承担方",
    "customer_name": "客户名称", "sla_tier": "服务等级", "monthly_fee": "月费", "outage_minutes": "中断分钟",
    "credit_percent": "赔偿比例%", "credit": "SLA赔偿", "extension_days": "延期天数", "extension": "服务延期",
    "cap_adjustment": "上限调整", "insurer": "保险公司", "incidents": "事故数", "eligible": "可保金额",
    "deductible": "免赔额", "coinsurance": "共保自担", "recovered": "赔付金额", "aggregate_limit": "累计限额",
    "aggregate_used": "累计已用", "aggregate_left": "累计剩余", "period": "期间", "code": "代码",
    "message": "内容", "policy_currency": "保单币种", "sha256": "SHA-256", "file_name": "文件",
    "received_at": "接收时间", "name": "名称",
    "key": "项目", "value": "值", "share": "占比",
}

TEXT = {
    "report_title": ("Compensation report", "赔偿报告"),
    "period": ("Period", "期间"),
    "reporting_currency": ("Reporting currency", "报告币种"),
    "standard": ("Compensation standard", "赔偿标准"),
    "incident_count": ("Incidents", "事故数"),
    "gross": ("Gross", "赔偿总额"),
    "recovery": ("Insurance recovery", "保险赔付"),
    "net": ("Net", "净额"),
    "by_category": ("By category", "按类别"),
    "total": ("Total", "合计"),
    "top_incidents": ("Top incidents by net cost", "净额最高的事故"),
    "large_losses": ("Large losses: net of {threshold} {currency} or more",
                     "重大损失：净额不低于 {threshold} {currency}"),
    "by_party": ("By responsible party", "按责任方"),
    "net_previous": ("Net, previous period", "上期净额"),
    "change": ("Change from the previous period", "较上期变化"),
    "amount": ("Amount", "金额"),
    "chart_category": ("Gross by category", "各类别赔偿总额"),
    "chart_net": ("Gross, insurance recovery and net", "赔偿总额、保险赔付与净额"),
    "chart_units": ("Gross by business unit and category", "各部门分类别赔偿总额"),
    "chart_trend": ("Gross, recovery and net by period", "各期间赔偿总额、保险赔付与净额"),
    "version": ("Tool version", "程序版本"),
    "generated_at": ("Generated at", "生成时间"),
    "rates_file": ("Rates file", "赔偿标准文件"),
    "rates_sha256": ("Rates file SHA-256", "赔偿标准文件 SHA-256"),
    "standard_version": ("Standard version", "标准版本"),
    "locale": ("Locale", "语言"),
    "submissions": ("Input submissions", "输入文件"),
    "new": ("new", "新增"),
    "revised": ("revised", "修订"),
    "warn_rejected": ("{file}: rejected with {count} problem(s); see {errors}",
                      "{file}：有 {count} 个问题，已退回；见 {errors}"),
    "warn_rejected_earlier": ("{file}: rejected on {received} with {count} problem(s) and not replaced yet; "
                              "see {errors}",
                              "{file}：{received} 因 {count} 个问题被退回，尚未重新提交；见 {errors}"),
    "warn_duplicate": ("{file}: byte-identical to a workbook already accepted; counted once",
                       "{file}：与已接收的工作簿完全相同，只计一次"),
    "warn_future_period": ("{period} has not ended yet (today is {today}): its figures can still change",
                           "{period} 尚未结束（今天是 {today}）：数字还可能变化"),
    "warn_empty_period": ("the ledger holds no incident of {period}: every figure is zero",
                          "台账中没有 {period} 的事故：所有数字均为零"),
    "warn_revised": ("{incident}: replaced by the revision in {file}", "{incident}：已由 {file} 中的修订版本替换"),
    "warn_other_period": ("{incident} ({file}) starts in {period}: priced for limits, reported in its own period",
                          "{incident}（{file}）开始于 {period}：为计算限额而计价，在其所属期间报告"),
}

CATEGORY_NAMES = {
    "LOSS": ("Loss compensation", "损失赔偿"),
    "DOWNTIME": ("Downtime loss", "停工损失"),
    "CUSTOMER": ("Customer compensation", "客户赔偿"),
    "FINE": ("Legal fines", "法律罚款"),
    "REPAIR": ("Repair costs", "修复费用"),
    "INSURANCE": ("Insurance recovery", "保险赔偿"),
}

PARTY_NAMES = {
    "internal": ("internal", "内部"),
    "vendor": ("vendor", "供应商"),
    "third_party": ("third party", "第三方"),
}


def number_formats(locale: str, currency: str = "") -> dict[str, str | None]:
    """Excel number formats by kind of column. Negative money is red; reporting-currency money names
    its currency; a percent column holds 10 for 10 %, a share column 0.1. Right-aligned amounts end in
    a space (`_)`, the width of a parenthesis) so that they never touch the text of the next column."""
    suffix = f' "{currency}"' if currency else ""
    chinese = locale == "zh-CN"
    return {
        "money": f"#,##0.00{suffix}_);[Red]-#,##0.00{suffix}_)",
        "own_money": "#,##0.00_);[Red]-#,##0.00_)",
        "number": "#,##0.00##_)",
        "int": "0",
        "percent": '0.0#"%"',
        "share": "0.0%",
        "datetime": 'yyyy"年"m"月"d"日" hh:mm' if chinese else "yyyy-mm-dd hh:mm",
        "date": 'yyyy"年"m"月"d"日"' if chinese else "yyyy-mm-dd",
        "text": None,
    }


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale == "zh-CN" else pair[0]


def sheet_name(key: str, locale: str) -> str:
    return _pick(SHEETS[key], locale)


def header(column: str, locale: str) -> str:
    """A column's header in words; its field name (what programs read) is the row above, hidden."""
    return (HEADERS if locale == "zh-CN" else HEADERS_EN).get(column, column)


def text(key: str, locale: str) -> str:
    return _pick(TEXT[key], locale)


def category_name(code: str, locale: str) -> str:
    return _pick(CATEGORY_NAMES[code], locale)


def party_name(code: str, locale: str) -> str:
    return _pick(PARTY_NAMES[code], locale)


PERIOD_WARNINGS = ("future_period", "empty_period")  # Warnings codes said on screen and under Summary's title


def amount(value: object) -> str:
    """Money in words and emails: thousands separated, two decimals (1,234,567.80)."""
    return f"{Decimal(str(value)):,.2f}"
