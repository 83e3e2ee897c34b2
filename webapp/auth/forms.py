from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired


class LoginForm(FlaskForm):
    # No format check here: a wrong address simply does not match an account.
    email = StringField("Email", validators=[DataRequired()], render_kw={"type": "email", "autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired()], render_kw={"autocomplete": "current-password"})
