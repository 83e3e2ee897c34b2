"""The invoices raised in Socket, a page at a time: newest month first, newest number first within it."""
from dataclasses import dataclass
from datetime import date

from webapp.extensions import db
from webapp.models import Invoice
from webapp.pagination import PageNumbers

PER_PAGE = 50


@dataclass(frozen=True)
class InvoicePage(PageNumbers):
    invoices: list[Invoice]
    page: int  # 1-based, clamped to the pages there are
    pages: int  # at least 1
    total: int  # invoices on every page


def invoice_page(practice_id: int, period: date | None, page: int, per_page: int = PER_PAGE) -> InvoicePage:
    """One page of the practice's invoices, all months or one (`period`); two statements plus lines."""
    wanted = [Invoice.practice_id == practice_id]
    if period is not None:
        wanted.append(Invoice.period == period)
    total = db.session.execute(db.select(db.func.count(Invoice.id)).filter(*wanted)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    # Newest number first; by length too, as text "SKT-1000000" sorts below "SKT-999999".
    newest_first = (Invoice.period.desc(), db.func.length(Invoice.number).desc(), Invoice.number.desc(),
                    Invoice.id.desc())
    invoices = list(db.session.execute(
        db.select(Invoice).filter(*wanted).order_by(*newest_first).limit(per_page).offset((page - 1) * per_page)
    ).scalars())
    return InvoicePage(invoices, page, pages, total)
