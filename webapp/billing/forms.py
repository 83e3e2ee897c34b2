"""The approve form's one choice: which date to give invoices whose invoice day has already passed."""
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from webapp.forms import Form
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import PlanDates

CHOOSE_DATE = "Choose the date for these invoices: their invoice day, or today."
DATE_FIELD = "invoice_date"


def long_date(value) -> str:
    return value.strftime("%-d %B %Y")


def parse_dating(value: str | None) -> InvoiceDating | None:
    """The posted choice; None when nothing was posted. Raises ValueError for anything else."""
    if value is None:
        return None
    return InvoiceDating(value)


class InvoiceDateForm(Form):
    """Rendered inside the approve form (which carries the CSRF token), so it has none of its own."""

    class Meta:
        csrf = False

    invoice_date = RadioField("Invoice date", validate_choice=False)

    def __init__(self, dates: PlanDates, error: str | None = None, **kwargs):
        super().__init__(formdata=None, data={DATE_FIELD: dates.dating.value}, **kwargs)
        if dates.practice_day_passed:
            on_day = f"Date them {long_date(dates.invoice_day)}, due {long_date(dates.due_date)}"
        else:
            on_day = "Date them on their invoice days"
        self.invoice_date.choices = [
            SelectChoice(InvoiceDating.INVOICE_DAY.value, on_day),
            SelectChoice(InvoiceDating.TODAY.value,
                         f"Date them today ({long_date(dates.today)}), due {long_date(dates.today_due_date)}"),
        ]
        if dates.practice_day_passed:
            hint = f"The invoice day, {long_date(dates.invoice_day)}, has already passed."
        else:
            hint = "Some clients' own invoice day has already passed."
        if dates.own_terms:
            hint += (" Clients with their own payment terms keep them, and a client whose own invoice day is "
                     "still to come keeps it.")
        self.invoice_date.description = hint
        self.invoice_date.errors = [error] if error else []
