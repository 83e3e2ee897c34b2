"""Pricing menu and service forms."""
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from webapp.forms import ChoiceField, Form, MultilineTextField, PriceField, Sent, TextField, max_length
from webapp.models.pricing import BILLING_METHOD_LABELS, PricingMenu, Service

CHOOSE_BILLING_METHOD = "Choose how the service is billed."


class MenuForm(Form):
    name = TextField("Menu name", validators=[DataRequired("Enter a name for the menu."),
                                              max_length("Menu name", PricingMenu.name)])


class ServiceForm(Form):
    name = TextField("Service", validators=[DataRequired("Enter the service's name."),
                                            max_length("Service name", Service.name)])
    description = MultilineTextField("Description", render_kw={"rows": 1})
    billing_method = ChoiceField("Billing method",
                                 choices=[SelectChoice(method.value, label)
                                          for method, label in BILLING_METHOD_LABELS.items()],
                                 validators=[Sent(CHOOSE_BILLING_METHOD)], message=CHOOSE_BILLING_METHOD)
    price = PriceField("Price (£)", validators=[DataRequired("Enter a price.")],
                       render_kw={"inputmode": "decimal"})

    def service_fields(self) -> dict:
        return {"name": self.name.data, "description": self.description.data or "",
                "billing_method": self.billing_method.data, "price": self.price.price}
