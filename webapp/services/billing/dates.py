"""When an invoice is dated and due. Pure functions, no database, no Flask.

An invoice is dated on its invoice day in the billed month (the client's own, else the practice's) and due its
payment terms later (the client's own, else the practice's). Approved after that day has passed, it is dated on it
or today, as the person approving chooses (InvoiceDating).
"""
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum


class InvoiceDating(str, Enum):
    """Which date approving gives an invoice whose invoice day has already passed (the approve form's choice)."""

    INVOICE_DAY = "invoice_day"  # its invoice day in the billed month, even though that is in the past
    TODAY = "today"  # the day it is approved (in the practice's time zone); the Billing Plan's default


@dataclass(frozen=True)
class InvoiceTerms:
    """When one client's invoices are dated and due: its own invoice day and payment terms, else the practice's."""

    invoice_day: int  # 1-28
    payment_terms_days: int  # days from the invoice date to the due date


def effective_terms(practice_day: int, practice_terms: int, client_day: int | None = None,
                    client_terms: int | None = None) -> InvoiceTerms:
    """The client's own invoice day and payment terms where it has them (not None), else the practice's."""
    return InvoiceTerms(practice_day if client_day is None else client_day,
                        practice_terms if client_terms is None else client_terms)


def invoice_day_in(period: date, invoice_day: int) -> date:
    """The invoice day in the billed month (`period`, any day of it): 1-28, so every month has it."""
    return period.replace(day=invoice_day)


def invoice_day_passed(period: date, invoice_day: int, today: date) -> bool:
    """Whether the invoice day in the billed month is already behind `today` (today itself has not passed)."""
    return invoice_day_in(period, invoice_day) < today


def invoice_dates(period: date, invoice_day: int, payment_terms_days: int, *, today: date | None = None,
                  dating: InvoiceDating = InvoiceDating.INVOICE_DAY) -> tuple[date, date]:
    """(issue date, due date): the invoice day in the billed month, plus the payment terms.

    Dated TODAY, an invoice whose invoice day has passed is dated `today` instead (and due `today` plus the
    terms); one whose invoice day is still to come keeps it. Without `today` the invoice day is used.
    """
    issue = invoice_day_in(period, invoice_day)
    if dating is InvoiceDating.TODAY and today is not None and issue < today:
        issue = today
    return issue, issue + timedelta(days=payment_terms_days)
