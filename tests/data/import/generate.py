#!/usr/bin/env python3
"""Writes the sheets the import tests read, as other programs write them: a CSV in GB18030
(Python's gb18030 codec) and the same sheet saved as CSV by LibreOffice Calc in GB18030, as
Chinese offices' spreadsheet programs export, a CSV in UTF-8
with a byte-order mark (as Excel's "CSV UTF-8" export), and an .xlsx by openpyxl with
Chinese headers and real date cells. Also writes the ID numbers used (ids.txt) and what the
dry run must say about each bad row (bad-rows.expected.json).

The ID numbers are synthetic: area 320206, a real birth date, a sequence number, and the
GB 11643 check character. Run from this directory: python3 generate.py
"""

import datetime
import json
import os
import shutil
import subprocess
import tempfile

import openpyxl

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def resident_id(n, birth="19800101"):
    body = f"320206{birth}{n % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS))
    return body + CHECK[total % 11]


def luhn_card(prefix="622202020011223344"):
    digits = [int(d) for d in prefix]
    for check in range(10):
        total = 0
        for i, d in enumerate(reversed(digits + [check])):
            if i % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        if total % 10 == 0:
            return prefix + str(check)
    raise ValueError("no check digit")


def csv_line(cells):
    out = []
    for c in cells:
        c = str(c)
        if any(ch in c for ch in ',"\n'):
            c = '"' + c.replace('"', '""') + '"'
        out.append(c)
    return ",".join(out) + "\r\n"


ids = []

# 1. Household payments, GB18030 CSV, amounts and dates in the forms clerks write them.
PAY_HEADERS = ["序号", "身份证号", "村代码", "金额（元）", "发放日期", "用途"]
amounts = ["3,000.00", "3000", "¥3,000.00", "1500.5", "￥2,400.00", "800元", "1,234.56", "500"]
dates = ["2024-04-20", "2024/4/20", "2024年4月20日", "20240420", "2024.4.21", "2024-4-22"]
rows = [PAY_HEADERS]
for i in range(1, 13):
    hid = resident_id(i, f"19{60 + i:02d}0{1 + i % 9}1{i % 10}")
    ids.append(hid)
    rows.append([i, hid if i % 3 else hid.lower(), "320206101201",
                 amounts[i % len(amounts)], dates[i % len(dates)], "产业扶持补贴（2024年上半年）"])
with open("payments-gb18030.csv", "wb") as f:
    f.write("".join(csv_line(r) for r in rows).encode("gb18030"))

# 1b. The same payments typed into a workbook (every cell text, as a clerk types amounts and
# dates), then saved as CSV by LibreOffice Calc with the GB18030 character set (filter option
# 85), as a Chinese office exports it: payments-libreoffice-gb18030.csv. Needs LibreOffice
# (Debian: libreoffice-calc-nogui); skipped, keeping the committed file, without it.
wb = openpyxl.Workbook()
wb.active.title = "发放明细"
for r in rows:
    wb.active.append([str(c) for c in r])
wb.save("payments.xlsx")
if shutil.which("soffice"):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["soffice", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,85", "--outdir", out,
                        "payments.xlsx"], check=True, capture_output=True)
        shutil.copyfile(os.path.join(out, "payments.csv"), "payments-libreoffice-gb18030.csv")
os.remove("payments.xlsx")

# 2. Household enrolments and exits, .xlsx with Chinese headers and real date cells.
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "纳入名单"
ws.append(["编号", "身份证号", "村代码", "状态", "公示开始", "公示结束", "决定日期", "依据"])
for i in range(1, 9):
    hid = resident_id(100 + i, f"1975{i:02d}15")
    ids.append(hid)
    status, basis = ("纳入", "收入低于标准") if i % 4 else ("退出", "收入稳定")
    ws.append([i, hid, "320206101201", status,
               datetime.date(2024, 3, 1), f"2024年3月{10 + i % 3}日",
               datetime.datetime(2024, 3, 20 + i % 5), basis])
    for col in (5, 7):
        ws.cell(row=ws.max_row, column=col).number_format = "yyyy-mm-dd"
wb.save("enrolment.xlsx")

# 3. A larger household payments sheet, UTF-8 with BOM, for the interrupted import.
rows = [PAY_HEADERS]
for i in range(1, 301):
    hid = resident_id(200 + i, f"19{50 + i % 40:02d}{1 + i % 12:02d}{1 + i % 28:02d}")
    ids.append(hid)
    rows.append([i, hid, "320206101202", f"{100 + i},{i % 1000:03d}.00", "2024年5月1日",
                 "产业扶持补贴"])
with open("payments-300.csv", "wb") as f:
    f.write("\ufeff".encode("utf-8") + "".join(csv_line(r) for r in rows).encode("utf-8"))

# 4. Thirty kinds of bad row (and good rows around them), UTF-8 with BOM.
good_id = resident_id(900, "19800101")
ids.append(good_id)
bad = [  # (serial, id, area, amount, date, purpose, column, reason fragment)
    ("", None, None, None, None, None, "序号", "is empty"),
    ("a b", None, None, None, None, None, "序号", "rid:"),
    ("1", None, None, None, None, None, "序号", "is made by row 2 too"),
    (None, "", None, None, None, None, "身份证号", "is empty"),
    (None, good_id[:-1] + ("1" if good_id[-1] != "1" else "2"), None, None, None, None,
     "身份证号", "wrong check character"),
    (None, good_id[:17], None, None, None, None, "身份证号", "has 17 characters"),
    (None, "320206800101001", None, None, None, None, "身份证号", "15-digit"),
    (None, "3.20206198001E+17", None, None, None, None, "身份证号", "as a number"),
    (None, None, "", None, None, None, "村代码", "is empty"),
    (None, None, "32020610", None, None, None, "村代码", "payee.household.area"),
    (None, None, "32020610120A", None, None, None, "村代码", "payee.household.area"),
    (None, None, None, "", None, None, "金额（元）", "is empty"),
    (None, None, None, "abc", None, None, "金额（元）", "is not an amount"),
    (None, None, None, "-500", None, None, "金额（元）", "is negative"),
    (None, None, None, "3.005", None, None, "金额（元）", "has 3 decimals"),
    (None, None, None, "3,00.00", None, None, "金额（元）", "misplaced thousands"),
    (None, None, None, "99999999999999999999", None, None, "金额（元）", "too large"),
    (None, None, None, "0", None, None, "金额（元）", "greater than zero"),
    (None, None, None, "1e5", None, None, "金额（元）", "is not an amount"),
    (None, None, None, "3.000.00", None, None, "金额（元）", "only digits may follow"),
    (None, None, None, "3000美元", None, None, "金额（元）", "is not an amount"),
    (None, None, None, None, "", None, "发放日期", "is empty"),
    (None, None, None, None, "2024-02-30", None, "发放日期", "not a real date"),
    (None, None, None, None, "2024/13/01", None, "发放日期", "no month 13"),
    (None, None, None, None, "next week", None, "发放日期", "not a date in a form"),
    (None, None, None, None, "2023年2月29日", None, "发放日期", "not a real date"),
    (None, None, None, None, None, "", "用途", "is empty"),
    (None, None, None, None, None, "请联系 138 1234 5678", "用途", "purpose"),
    (None, None, None, None, None, "退款至 " + luhn_card(), "用途", "purpose"),
    (None, None, None, None, None, "补贴" * 600, "用途", "purpose"),
]
assert len(bad) == 30, len(bad)
rows = [PAY_HEADERS, ["1", good_id, "320206101201", "3,000.00", "2024-04-20", "产业扶持补贴"]]
expected = []
for n, (serial, hid, area, amount, date, purpose, column, reason) in enumerate(bad):
    row_number = len(rows) + 1
    rows.append([
        f"{n + 2}" if serial is None else serial,
        good_id if hid is None else hid,
        "320206101201" if area is None else area,
        "100.00" if amount is None else amount,
        "2024-04-20" if date is None else date,
        "产业扶持补贴" if purpose is None else purpose,
    ])
    expected.append({"row": row_number, "column": column, "reason": reason})
rows.append(["99", good_id, "320206101201", "¥1,000.00", "2024年4月20日", "产业扶持补贴"])
with open("bad-rows.csv", "wb") as f:
    f.write("\ufeff".encode("utf-8") + "".join(csv_line(r) for r in rows).encode("utf-8"))
with open("bad-rows.expected.json", "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
    f.write("\n")

with open("ids.txt", "w") as f:
    f.write("\n".join(ids) + "\n")
