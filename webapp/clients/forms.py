"""Client and engagement forms. Identifier checks come from webapp.services.clients."""
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional, ValidationError

from webapp.forms import (
    ChoiceField,
    DateField,
    Form,
    PriceField,
    Sent,
    TextField,
    WholeNumberField,
    ascii_int,
    max_length,
)
from webapp.models import Client
from webapp.services import clients as client_service

CONSOLIDATION_CHOICES = [SelectChoice("", "Use practice setting"), SelectChoice("one", "One line"),
                         SelectChoice("per_service", "One line per service")]
_CONSOLIDATION_VALUES = {"": None, "one": True, "per_service": False}


def consolidation_choice(value: bool | None) -> str:
    """The select value for a stored per-client consolidation override."""
    return {None: "", True: "one", False: "per_service"}[value]


CHOOSE_LAYOUT = "Choose one line, one line per service, or the practice setting."
# The same ranges as the practice's Billing Settings (webapp/settings/billing_forms.py).
DAY_RANGE = "Enter a day from 1 to 28 (every month has one), or leave it blank for the practice default."
TERMS_RANGE = "Enter a number of days from 0 to 120, or leave it blank for the practice default."


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st, 22nd, 23rd … 28th."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


class ClientForm(Form):
    """Create/edit a client. `practice_id` and `client_id` let the code check look for duplicates."""

    name = TextField("Name", validators=[DataRequired("Enter the client's name."),
                                         max_length("Client name", Client.name)])
    code = TextField("Client code", validators=[DataRequired("Enter a client code."),
                                                max_length("Client code", Client.code)],
                     description="Unique in your practice, e.g. ABB01.")
    email = TextField("Email", validators=[Optional(), max_length("Email", Client.email)])
    phone = TextField("Phone", validators=[Optional(), max_length("Phone", Client.phone)])
    address_line = TextField("Postal address", validators=[Optional(), max_length("Postal address",
                                                                                  Client.address_line)])
    city = TextField("Town or city", validators=[Optional(), max_length("Town or city", Client.city)])
    postcode = TextField("Postcode", validators=[Optional(), max_length("Postcode", Client.postcode)])
    company_number = TextField("Company registration number", validators=[Optional()],
                               description="8 characters, e.g. 01234567 or SC123456; a shorter number of digits "
                                           "gets zeros in front.")
    vat_number = TextField("VAT number", validators=[Optional()], description=client_service.VAT_NUMBER_FORMAT)
    # Sent: "" means the practice setting, so a post without the select must not quietly reset the client's choice.
    consolidate_recurring = ChoiceField("Invoice lines for recurring work", choices=CONSOLIDATION_CHOICES,
                                        default="", validators=[Sent(CHOOSE_LAYOUT)], message=CHOOSE_LAYOUT)
    consolidate_one_off = ChoiceField("Invoice lines for one-off work", choices=CONSOLIDATION_CHOICES, default="",
                                      validators=[Sent(CHOOSE_LAYOUT)], message=CHOOSE_LAYOUT)
    # Blank: the practice's Billing Settings. Sent: a post without them must not quietly drop the client's own.
    invoice_day = WholeNumberField("Invoice day",
                                   validators=[Sent(DAY_RANGE), Optional(), NumberRange(1, 28, DAY_RANGE)],
                                   render_kw={"inputmode": "numeric"})
    payment_terms_days = WholeNumberField("Payment terms (days)",
                                          validators=[Sent(TERMS_RANGE), Optional(), NumberRange(0, 120, TERMS_RANGE)],
                                          render_kw={"inputmode": "numeric"})
    # Rendered (and so Sent) only when Xero's templates are synced: see __init__.
    branding_theme_id = SelectField("Invoice template", choices=[SelectChoice("", "Use practice default")], default="",
                                    validate_choice=False)

    def __init__(self, *args, practice_id: int, client_id: int | None = None,
                 theme_choices: list[tuple[str, str]] | None = None, stored_theme_id: str | None = None,
                 practice_terms: tuple[int, int] = (1, 14), **kwargs):
        super().__init__(*args, **kwargs)
        self.practice_id = practice_id
        practice_day, practice_days = practice_terms
        self.invoice_day.description = (f"1 to 28. Leave blank for the practice default "
                                        f"({ordinal(practice_day)} of the month).")
        self.payment_terms_days.description = (f"Days after the invoice date, 0 to 120. Leave blank for the "
                                               f"practice default ({practice_days} days).")
        self.client_id = client_id
        self.notes: dict[str, str] = {}  # field name -> what the user should know of an accepted value
        self.stored_theme_id = stored_theme_id
        self.themes_offered = theme_choices is not None
        if theme_choices is not None:
            self.branding_theme_id.choices = [SelectChoice(value, label) for value, label in theme_choices]
            self.branding_theme_id.validators = [Sent("Choose an invoice template, or the practice default.")]

    # Inline validators (WTForms calls validate_<field>); each also normalises what it accepts.
    def validate_code(self, field):
        field.data = client_service.normalise_client_code(field.data)
        if field.data and client_service.code_taken(self.practice_id, field.data, self.client_id):
            raise ValidationError(f"Another client already has the code {field.data}.")

    def validate_email(self, field):
        field.data = _normalised(client_service.normalise_email, field)

    def validate_company_number(self, field):
        padded = client_service.company_number_padding(field.data) if field.data else None
        field.data = _normalised(client_service.normalise_company_number, field)
        if padded:
            self.notes[field.name] = company_number_padded(padded, saved=False)

    def validate_vat_number(self, field):
        field.data = _normalised(client_service.normalise_vat_number, field)

    def validate_branding_theme_id(self, field):
        allowed = {choice.value for choice in field.choices}
        if field.data and field.data not in allowed and field.data != self.stored_theme_id:
            raise ValidationError("Choose one of your Xero invoice templates.")

    def validate_field(self, name: str) -> bool:
        """Validate one field (the inline check made when the user leaves it)."""
        field = self[name]
        inline = getattr(type(self), f"validate_{name}", None)
        return field.validate(self, [inline] if inline else []) and self.check_sent(field)

    def client_fields(self) -> dict:
        """What the service layer stores, with empty optional fields as None."""
        fields = {name: (self[name].data or None) for name in (
            "name", "code", "email", "phone", "address_line", "city", "postcode", "company_number", "vat_number")}
        fields["consolidate_recurring"] = _CONSOLIDATION_VALUES[self.consolidate_recurring.data or ""]
        fields["consolidate_one_off"] = _CONSOLIDATION_VALUES[self.consolidate_one_off.data or ""]
        fields["invoice_day"] = self.invoice_day.data
        fields["payment_terms_days"] = self.payment_terms_days.data
        if self.themes_offered:
            fields["branding_theme_id"] = self.branding_theme_id.data or None
        return fields


def company_number_padded(number: str, saved: bool = True) -> str:
    """Says that a company number typed short is stored with zeros in front, beside the field before saving
    ("Will be saved as 00000123 — …") and after it ("Company number saved as 00000123 — …")."""
    said = f"Company number saved as {number}" if saved else f"Will be saved as {number}"
    return f"{said} — Companies House numbers have 8 characters."


def _normalised(normaliser, field):
    """Normalise a non-empty value; on failure keep what the user typed and report why."""
    if not field.data:
        return field.data
    try:
        return normaliser(field.data)
    except client_service.InvalidIdentifier as error:
        raise ValidationError(str(error)) from error


def _optional_int(value):
    try:
        return ascii_int(value)
    except (TypeError, ValueError):
        return None


def menu_group_label(menu) -> str:
    """The service select's group for a pricing menu: the active one by name, the others as not active."""
    return f"{menu.name} (active menu)" if menu.is_active else f"Other menus (not active): {menu.name}"


def service_choice_label(menu, service) -> str:
    """A service's option, e.g. "Bookkeeping — £250.00"; one on a menu that is not active says so."""
    label = f"{service.name} — £{service.price:,.2f}"
    return label if menu.is_active else f"{label} ({menu.name}, not active)"


class EngagementForm(Form):
    service_id = SelectField("Service", coerce=_optional_int, validate_choice=False,
                             validators=[DataRequired("Choose a service.")])
    price = PriceField("Agreed price (£)", description="Leave blank to use the service's price.",
                       render_kw={"inputmode": "decimal"})
    start_date = DateField("Start date", validators=[DataRequired("Enter the start date.")])
    end_date = DateField("End date", validators=[Optional()])

    def __init__(self, *args, services_by_menu=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {service.id: service for _, services in services_by_menu for service in services}
        # The active menu's services first; another menu's apart and marked (also in the closed select's text), so
        # they are not picked by mistake, yet an engagement already on one still shows and can be saved.
        self.service_id.choices = [
            SelectChoice(service.id, service_choice_label(menu, service), optgroup=menu_group_label(menu))
            for menu, services in services_by_menu for service in services
        ]

    def validate_service_id(self, field):
        if field.data not in self.services:
            raise ValidationError("Choose one of your practice's services.")

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError("The end date cannot be before the start date.")


class EndEngagementForm(Form):
    end_date = DateField("End date", validators=[DataRequired("Enter the date the engagement ends.")])


class CompleteEngagementForm(Form):
    # InputRequired, not DataRequired: an unreadable date then reports itself instead of "enter a date".
    completed_on = DateField("Completed on", validators=[InputRequired("Enter the date the work was completed.")])
