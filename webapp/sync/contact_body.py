"""The Xero Contact Socket creates for a client (Xero's field names), shared by "Create in Xero" on the Billing
Plan (webapp.services.contact_matching_ui) and posting invoices (webapp.sync.invoice_contacts)."""
from typing import Any

from webapp.models import Client


def contact_body(client: Client) -> dict[str, Any]:
    """The Contact to create for `client` (Xero's field names; empty fields left out): its name, email, code as
    the ContactNumber (so the next match is certain), company and VAT numbers, phone and postal address."""
    body: dict[str, Any] = {"Name": client.name.strip(), "ContactNumber": client.code}
    for key, value in (("EmailAddress", client.email), ("CompanyNumber", client.company_number),
                       ("TaxNumber", client.vat_number)):
        if value and value.strip():
            body[key] = value.strip()
    if client.phone and client.phone.strip():
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": client.phone.strip()}]
    address = {key: value.strip() for key, value in (("AddressLine1", client.address_line), ("City", client.city),
                                                     ("PostalCode", client.postcode)) if value and value.strip()}
    if address:
        body["Addresses"] = [{"AddressType": "POBOX", **address}]
    return body
