"""Pricing menu and service forms."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from webapp.models.pricing import BILLING_METHOD_LABELS
from webapp.services.pricing import InvalidPrice, parse_price


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PriceField(StringField):
    """A money input: the value stays what was typed; `price` holds the parsed Decimal once valid."""

    price = None

    def pre_validate(self, form):
        self.price = None
        if self.data is None or str(self.data).strip() == "":
            return
        try:
            self.price = parse_price(self.data)
        except InvalidPrice as error:
            raise ValidationError(str(error)) from error


class MenuForm(FlaskForm):
    name = StringField("Menu name", validators=[DataRequired("Enter a name for the menu."), Length(max=200)],
                       filters=[_strip])


class ServiceForm(FlaskForm):
    name = StringField("Service", validators=[DataRequired("Enter the service's name."), Length(max=200)],
                       filters=[_strip])
    description = TextAreaField("Description", filters=[_strip], render_kw={"rows": 1})
    billing_method = SelectField("Billing method",
                                 choices=[SelectChoice(method.value, label)
                                          for method, label in BILLING_METHOD_LABELS.items()])
    price = PriceField("Price (£)", validators=[DataRequired("Enter a price.")],
                       render_kw={"inputmode": "decimal"})

    def service_fields(self) -> dict:
        return {"name": self.name.data, "description": self.description.data or "",
                "billing_method": self.billing_method.data, "price": self.price.price}


class AccountCodeForm(FlaskForm):
    """The one select of a service's row in Billing & Engagement Letter Settings (checked by the service)."""

    account_code = StringField("Account code")
