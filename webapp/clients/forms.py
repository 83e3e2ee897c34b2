"""Client and engagement forms. Identifier checks come from webapp.services.clients."""
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.forms import ChoiceField, DateField, Form, PriceField, Sent, TextField, WholeNumberField, ascii_int
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

    name = TextField("Name", validators=[DataRequired("Enter the client's name."), Length(max=200)])
    code = TextField("Client code", validators=[DataRequired("Enter a client code."), Length(max=32)],
                     description="Unique in your practice, e.g. ABB01.")
    email = TextField("Email", validators=[Optional(), Length(max=254)])
    phone = TextField("Phone", validators=[Optional(), Length(max=50)])
    address_line = TextField("Postal address", validators=[Optional(), Length(max=200)])
    city = TextField("Town or city", validators=[Optional(), Length(max=100)])
    postcode = TextField("Postcode", validators=[Optional(), Length(max=16)])
    company_number = TextField("Company registration number", validators=[Optional()],
                               description="8 characters, e.g. 01234567 or SC123456.")
    vat_number = TextField("VAT number", validators=[Optional()], description="GB and 9 digits, e.g. GB 123 4567 89.")
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
        field.data = _normalised(client_service.normalise_company_number, field)

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
        self.service_id.choices = [
            SelectChoice(service.id, f"{service.name} — £{service.price:,.2f}",
                         optgroup=menu.name + (" (active)" if menu.is_active else ""))
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
