"""The Practice details form."""
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, ValidationError

from webapp.forms import Form, TextField, max_length
from webapp.models import Practice, PrimaryCRM
from webapp.models.practice import CRMImportScope
from webapp.services import time_zones

CRM_CHOICES = [
    SelectChoice(PrimaryCRM.SOCKET.value, "Socket: clients are kept in Socket and matched to Xero contacts"),
    SelectChoice(PrimaryCRM.XERO.value, "Xero: Xero contacts also become Socket clients"),
]

IMPORT_SCOPE_CHOICES = [
    SelectChoice(CRMImportScope.CUSTOMERS.value, "Customers only: contacts Xero marks as customers (ones you have "
                                                 "invoiced)"),
    SelectChoice(CRMImportScope.ALL.value, "All active contacts, suppliers included"),
]
# The nightly sync's window, local time: the evening and the small hours, when nobody is working in Xero.
NIGHTLY_CHOICES = [SelectChoice(f"{hour:02d}:00", f"{hour:02d}:00") for hour in (*range(20, 24), *range(0, 7))]
CHOOSE_NIGHTLY = "Choose when the nightly sync starts: between 20:00 and 06:00."
CHOOSE_IMPORT_SCOPE = "Choose which Xero contacts become clients: customers only, or all active contacts."
CHOOSE_TIME_ZONE = "Choose a time zone from the list, such as Europe/London."
# What an inline save of a control says when its value was not posted at all (the others' validators say it).
NOT_POSTED = {"nightly_sync_at": CHOOSE_NIGHTLY, "crm_import_scope": CHOOSE_IMPORT_SCOPE}
TIME_ZONE_HINT = ("Times are shown in this zone, and the nightly sync runs by its clock. Type a city or country "
                  "to find yours.")


class PracticeDetailsForm(Form):
    # TextField: cleaned and trimmed (so "   " is no name) like every text field; see webapp/forms.py.
    name = TextField("Practice name", validators=[DataRequired("Enter the practice's name."),
                                                  max_length("Practice name", Practice.name)])
    # A text input with a list to search (settings/_practice_control.html); validate_time_zone checks the choice.
    time_zone = TextField("Time zone", validators=[InputRequired("Choose a time zone.")], description=TIME_ZONE_HINT)
    # Optional in a post: without it the stored time is kept.
    nightly_sync_at = SelectField("Nightly sync starts at", choices=NIGHTLY_CHOICES, validate_choice=False,
                                  description="Each night Socket syncs with Xero within the hour after this time "
                                              "(02:00 suits most practices).")
    primary_crm = RadioField("Primary CRM", choices=CRM_CHOICES, validate_choice=False,
                             validators=[AnyOf([choice.value for choice in CRM_CHOICES],
                                               message="Choose Socket or Xero as the primary CRM.")])
    # Needed only with Xero as the primary CRM (validate_crm_import_scope): without it the stored choice is kept.
    crm_import_scope = RadioField("Xero contacts that become clients", choices=IMPORT_SCOPE_CHOICES,
                                  validate_choice=False,
                                  description="Applies only when Xero is the primary CRM: at each sync these "
                                              "active Xero contacts become clients, linked to their contact, unless "
                                              "a client already has them; archiving a contact in Xero archives its "
                                              "client.")

    def __init__(self, *args, stored_time_zone: str | None = None, **kwargs):
        """`stored_time_zone`: the practice's zone now, accepted though no longer offered (an old name such as
        Europe/Belfast keeps working until the practice chooses another)."""
        super().__init__(*args, **kwargs)
        self.stored_time_zone = stored_time_zone

    def validate_crm_import_scope(self, field):
        if field.raw_data == []:  # not posted
            if self.primary_crm.data == PrimaryCRM.XERO.value:
                raise ValidationError(CHOOSE_IMPORT_SCOPE)
            return
        if field.data not in {choice.value for choice in IMPORT_SCOPE_CHOICES}:
            raise ValidationError(CHOOSE_IMPORT_SCOPE)

    def validate_nightly_sync_at(self, field):
        if field.raw_data and field.data not in {choice.value for choice in NIGHTLY_CHOICES}:
            raise ValidationError(CHOOSE_NIGHTLY)

    def validate_time_zone(self, field):
        if field.data and field.data == self.stored_time_zone:
            return
        offered = time_zones.offered_name(field.data or "")
        if offered is None:
            raise ValidationError(CHOOSE_TIME_ZONE)
        field.data = offered  # as the list spells it: "europe/isle of man" is Europe/Isle_of_Man
