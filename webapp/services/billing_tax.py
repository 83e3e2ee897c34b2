"""The practice's synced Xero tax data, for showing VAT on previews and invoices as Xero will post them."""
from collections.abc import Iterable
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import XeroAccount, XeroConnection, XeroTaxRate
from webapp.models.xero import ConnectionStatus
from webapp.services import invoicing


@dataclass(frozen=True)
class TaxReference:
    account_tax_types: dict[str, str]  # account code -> its default TaxType
    rates: dict[str, invoicing.TaxRate] | None  # TaxType -> rate; None when Xero is not connected

    def tax(self, lines: Iterable[invoicing.Line]) -> invoicing.InvoiceTax:
        return invoicing.tax_invoice(lines, self.account_tax_types, self.rates)


def tax_reference(practice_id: int) -> TaxReference:
    """Account default tax types and tax rates from the last sync (three queries, whatever the size)."""
    connected = db.session.execute(
        db.select(XeroConnection.id).filter(XeroConnection.practice_id == practice_id,
                                            XeroConnection.status != ConnectionStatus.DISCONNECTED.value).limit(1)
    ).first() is not None
    accounts = {code: tax_type for code, tax_type in db.session.execute(
        db.select(XeroAccount.code, XeroAccount.tax_type).filter_by(practice_id=practice_id)
        .order_by(XeroAccount.status == "ACTIVE")  # an active account wins over an archived one's code
    ) if code and tax_type}
    if not connected:
        return TaxReference(accounts, None)
    rates = {}
    for tax_type, name, effective in db.session.execute(
            db.select(XeroTaxRate.tax_type, XeroTaxRate.name, XeroTaxRate.effective_rate)
            .filter_by(practice_id=practice_id)):
        percent = invoicing.parse_percent(effective)
        if percent is not None:
            rates[tax_type] = invoicing.TaxRate(tax_type, name, percent)
    return TaxReference(accounts, rates)
