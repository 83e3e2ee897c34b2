"""The Billing Settings form: consolidation, invoice day, payment terms, Xero status, missing contacts, template."""
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, NumberRange

from webapp.forms import CheckboxField, Form, Sent, WholeNumberField
from webapp.models import XeroPostStatus

LAYOUT_CHOICES = [SelectChoice("itemised", "One line per service"), SelectChoice("consolidated", "One line")]
MONTHLY_CHOICES = [SelectChoice("review", "Review and approve each month's plan"),
                   SelectChoice("automatic", "Approve automatically on the invoice day")]
STATUS_CHOICES = [SelectChoice(XeroPostStatus.DRAFT.value, "Draft"),
                  SelectChoice(XeroPostStatus.AUTHORISED.value, "Approved")]


CREATE_MISSING_CONTACTS_HELP = (
    "When a client has no Xero contact and no likely match, Socket creates one from the client's details as it "
    "posts the invoice. Off: the invoice waits until you link the client.")


def _one_of(choices, message):
    return AnyOf([choice.value for choice in choices], message=message)


class BillingSettingsForm(Form):
    # Choices are checked by AnyOf so the message can say what to do; the theme is checked by the route
    # against the synced list, which needs the practice.
    consolidate_recurring = SelectField(
        "Recurring work", choices=LAYOUT_CHOICES, validate_choice=False,
        validators=[_one_of(LAYOUT_CHOICES, "Choose one line or one line per service.")])
    consolidate_one_off = SelectField(
        "One-off work", choices=LAYOUT_CHOICES, validate_choice=False,
        validators=[_one_of(LAYOUT_CHOICES, "Choose one line or one line per service.")])
    # WholeNumberField: the digits 0-9 only (IntegerField's int() also reads "١٢").
    invoice_day = WholeNumberField(
        "Invoice date (day of the month)",
        validators=[InputRequired("Enter a day from 1 to 28."),
                    NumberRange(1, 28, "Enter a day from 1 to 28 (every month has one).")])
    payment_terms_days = WholeNumberField(
        "Payment terms (days after the invoice date)",
        validators=[InputRequired("Enter a number of days from 0 to 120."),
                    NumberRange(0, 120, "Enter a number of days from 0 to 120.")])
    monthly_billing = SelectField(
        "Monthly billing", choices=MONTHLY_CHOICES, validate_choice=False,
        validators=[_one_of(MONTHLY_CHOICES, "Choose to review each month or to approve automatically.")])
    xero_post_status = SelectField(
        "Post invoices to Xero as", choices=STATUS_CHOICES, validate_choice=False,
        validators=[_one_of(STATUS_CHOICES, "Choose Draft or Approved.")])
    # The form renders a hidden "" beside the box (settings/_billing_form.html), so unticked is still posted.
    create_missing_contacts = CheckboxField(
        "Create missing contacts in Xero when posting", description=CREATE_MISSING_CONTACTS_HELP,
        validators=[Sent("Say whether Socket should create missing contacts in Xero when posting.")])
    branding_theme_id = SelectField("Default invoice template", choices=[], validate_choice=False)

    @classmethod
    def from_settings(cls, settings, selected_theme_id):
        """The form filled from stored settings (GET)."""
        return cls(formdata=None, data={
            "consolidate_recurring": "consolidated" if settings.consolidate_recurring else "itemised",
            "consolidate_one_off": "consolidated" if settings.consolidate_one_off else "itemised",
            "invoice_day": settings.invoice_day,
            "payment_terms_days": settings.payment_terms_days,
            "xero_post_status": settings.xero_post_status,
            "monthly_billing": "automatic" if settings.approve_automatically else "review",
            "create_missing_contacts": settings.create_missing_contacts,
            "branding_theme_id": selected_theme_id,
        })
