"""An issued invoice as HTML and as PDF, in the patient's language, from its snapshot only
(so a later catalogue or clinic change never alters a document already issued).

PDF by ReportLab (platypus): a pure-Python wheel that needs no system library, unlike
WeasyPrint (Pango, HarfBuzz, cairo through cffi): the PDF is drawn from the same context the
HTML template gets, with ReportLab's standard fonts (Latin-1: en, es and fr text).
"""

import io
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from payments.models import PatientInvoice
from payments.services.common import format_money


@dataclass(frozen=True)
class Rendered:
    content: bytes
    content_type: str
    filename: str


def _labels(invoice: PatientInvoice) -> dict[str, str]:
    credit = invoice.kind == PatientInvoice.Kind.CREDIT_NOTE
    return {
        "title": _("Credit note") if credit else _("Invoice"),
        "number": _("Credit note number") if credit else _("Invoice number"),
        "issued": _("Issued on"),
        "seller": _("From"),
        "buyer": _("Billed to"),
        "tax_id": _("Tax ID"),
        "booking": _("Booking"),
        "item": _("Item"),
        "quantity": _("Quantity"),
        "unit": _("Unit price"),
        "amount": _("Amount"),
        "tax": _("Tax"),
        "subtotal": _("Subtotal"),
        "discount": _("Discount"),
        "taxes": _("Tax breakdown"),
        "included": _("included in the prices"),
        "total": _("Total"),
        "payment": _("Payment"),
        "paid": _("Paid by card"),
        "refunded": _("Refunded"),
        "receipt": _("Receipt number"),
        "credits": _("Credits invoice"),
    }


def invoice_context(invoice: PatientInvoice) -> dict[str, Any]:
    """Everything a rendering shows, formatted (call under the invoice's language)."""
    doc = invoice.document
    money = invoice.currency

    def fmt(amount: int | None) -> str:
        return format_money(int(amount or 0), money)

    issued = invoice.issued_at
    paid_at = parse_datetime(str(doc.get("payment", {}).get("paidAt") or ""))
    return {
        "invoice": invoice,
        "labels": _labels(invoice),
        "issued": f"{issued:%Y-%m-%d}",
        "seller": invoice.seller,
        "buyer": doc.get("buyer", {}),
        "booking_id": doc.get("booking", {}).get("id", ""),
        "credits": doc.get("credits", ""),
        "lines": [
            {
                "description": line.get("description", ""),
                "quantity": line.get("quantity", 1),
                "unit": fmt(line.get("unitAmount")),
                "amount": fmt(line.get("amount")),
                "tax": fmt(line.get("taxAmount")) if line.get("taxAmount") else "",
            }
            for line in doc.get("lines", [])
        ],
        "taxes": [
            {
                "name": tax.get("name", ""),
                "amount": fmt(tax.get("amount")),
                "inclusive": bool(tax.get("inclusive")),
            }
            for tax in doc.get("taxes", [])
        ],
        "subtotal": fmt(invoice.subtotal),
        "discount": fmt(-invoice.discount_total) if invoice.discount_total else "",
        "tax_total": fmt(invoice.tax_total),
        "total": fmt(invoice.total),
        "payment": doc.get("payment", {}),
        "paid_at": f"{paid_at:%Y-%m-%d}" if paid_at else "",
        "is_credit": invoice.kind == PatientInvoice.Kind.CREDIT_NOTE,
    }


def invoice_html(invoice: PatientInvoice) -> Rendered:
    with translation.override(invoice.language or "en"):
        html = render_to_string("payments/invoice.html", invoice_context(invoice))
    return Rendered(html.encode(), "text/html; charset=utf-8", f"{invoice.number_display}.html")


def _table(rows: list[list[Any]], widths: list[float], *, header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    style = [
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"))
    table.setStyle(TableStyle(style))
    return table


def _pdf_story(ctx: dict[str, Any]) -> list[Flowable]:
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["Normal"]
    labels, seller, buyer = ctx["labels"], ctx["seller"], ctx["buyer"]

    def para(text: str, style: Any = body) -> Paragraph:
        escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(escaped.replace("\n", "<br/>"), style)

    story: list[Flowable] = [
        Paragraph(f"{labels['title']} {ctx['invoice'].number_display}", styles["Title"]),
        para(f"{labels['number']}: {ctx['invoice'].number_display}"),
        para(f"{labels['issued']}: {ctx['issued']}"),
        para(f"{labels['booking']}: {ctx['booking_id']}", small),
    ]
    if ctx["credits"]:
        story.append(para(f"{labels['credits']}: {ctx['credits']}"))
    seller_text = "\n".join(
        filter(None, [seller.get("legalName"), seller.get("address"), seller.get("email")])
    )
    if seller.get("taxId"):
        seller_text += f"\n{labels['tax_id']}: {seller['taxId']}"
    story += [
        Spacer(1, 4 * mm),
        _table(
            [[labels["seller"], labels["buyer"]], [para(seller_text), para(buyer.get("name", ""))]],
            [90 * mm, 80 * mm],
        ),
        Spacer(1, 6 * mm),
    ]
    rows: list[list[Any]] = [
        [labels["item"], labels["quantity"], labels["unit"], labels["tax"], labels["amount"]]
    ]
    rows += [
        [para(line["description"]), line["quantity"], line["unit"], line["tax"], line["amount"]]
        for line in ctx["lines"]
    ]
    story += [_table(rows, [70 * mm, 18 * mm, 28 * mm, 24 * mm, 30 * mm]), Spacer(1, 4 * mm)]
    totals: list[list[Any]] = [[labels["subtotal"], ctx["subtotal"]]]
    if ctx["discount"]:
        totals.append([labels["discount"], ctx["discount"]])
    for tax in ctx["taxes"]:
        suffix = f" ({labels['included']})" if tax["inclusive"] else ""
        totals.append([f"{tax['name']}{suffix}", tax["amount"]])
    totals.append([labels["total"], ctx["total"]])
    table = _table(totals, [140 * mm, 30 * mm], header=False)
    table.setStyle(TableStyle([("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold")]))
    story.append(table)
    payment = ctx["payment"]
    paid = labels["refunded"] if ctx["is_credit"] else labels["paid"]
    line = f"{labels['payment']}: {paid} {ctx['total']} {ctx['paid_at']}".rstrip()
    if payment.get("receiptNumber"):
        line += f" · {labels['receipt']}: {payment['receiptNumber']}"
    story += [Spacer(1, 6 * mm), para(line)]
    return story


def invoice_pdf(invoice: PatientInvoice) -> Rendered:
    buffer = io.BytesIO()
    with translation.override(invoice.language or "en"):
        ctx = invoice_context(invoice)
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            title=f"{ctx['labels']['title']} {invoice.number_display}",
            author=str(invoice.seller.get("legalName", "")),
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=18 * mm,
            bottomMargin=18 * mm,
        )
        document.build(_pdf_story(ctx))
    return Rendered(buffer.getvalue(), "application/pdf", f"{invoice.number_display}.pdf")
