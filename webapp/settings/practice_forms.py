"""The Practice details form."""
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, ValidationError

from webapp.forms import Form, TextField
from webapp.models import PrimaryCRM
from webapp.services.practice_details import time_zone_names

CRM_CHOICES = [
    SelectChoice(PrimaryCRM.SOCKET.value, "Socket: clients are kept in Socket and matched to Xero contacts"),
    SelectChoice(PrimaryCRM.XERO.value, "Xero: Xero contacts also become Socket clients"),
]


class PracticeDetailsForm(Form):
    # TextField: cleaned and trimmed (so "   " is no name) like every text field; see webapp/forms.py.
    name = TextField("Practice name", validators=[DataRequired("Enter the practice's name."),
                                                  Length(max=200, message="Keep the name under 200 characters.")])
    time_zone = SelectField("Time zone", validate_choice=False,
                            validators=[InputRequired("Choose a time zone.")],
                            description="Times are shown in this zone, and the nightly sync runs at 02:00 here.")
    primary_crm = RadioField("Primary CRM", choices=CRM_CHOICES, validate_choice=False,
                             validators=[AnyOf([choice.value for choice in CRM_CHOICES],
                                               message="Choose Socket or Xero as the primary CRM.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = [SelectChoice(name, name.replace("_", " ")) for name in time_zone_names()]

    def validate_time_zone(self, field):
        if field.data not in time_zone_names():
            raise ValidationError("Choose a time zone from the list.")
