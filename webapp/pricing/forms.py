"""Pricing menu and service forms."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.forms import PriceField, strip_whitespace
from webapp.models.pricing import BILLING_METHOD_LABELS


class MenuForm(FlaskForm):
    name = StringField("Menu name", validators=[DataRequired("Enter a name for the menu."), Length(max=200)],
                       filters=[strip_whitespace])


class ServiceForm(FlaskForm):
    name = StringField("Service", validators=[DataRequired("Enter the service's name."), Length(max=200)],
                       filters=[strip_whitespace])
    description = TextAreaField("Description", filters=[strip_whitespace], render_kw={"rows": 1})
    billing_method = SelectField("Billing method",
                                 choices=[SelectChoice(method.value, label)
                                          for method, label in BILLING_METHOD_LABELS.items()])
    price = PriceField("Price (£)", validators=[DataRequired("Enter a price.")],
                       render_kw={"inputmode": "decimal"})

    def service_fields(self) -> dict:
        return {"name": self.name.data, "description": self.description.data or "",
                "billing_method": self.billing_method.data, "price": self.price.price}
