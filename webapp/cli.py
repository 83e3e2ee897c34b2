"""Flask CLI commands: demo data, keys, users."""
import click
from cryptography.fernet import Fernet
from flask import Flask

from webapp.matching_cli import match_csv_command
from webapp.posting_cli import post_invoices_command
from webapp.sync_cli import sync_practice_command

MIN_PASSWORD_LENGTH = 12


def register_cli(app: Flask) -> None:
    app.cli.add_command(match_csv_command)  # the matching dry run (webapp/matching_cli.py)
    app.cli.add_command(post_invoices_command)  # posting in the foreground (webapp/posting_cli.py)
    app.cli.add_command(sync_practice_command)  # a practice's sync in the foreground (webapp/sync_cli.py)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create (or refresh) the demo practice, its clients, pricing menus and engagements."""
        from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

        summary = seed_demo()
        click.echo(
            f"Demo practice ready: {summary['clients']} clients, {summary['services']} services, "
            f"{summary['engagements']} engagements."
        )
        click.echo(f"Sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}")

    @app.cli.command("gen-key")
    def gen_key_command():
        """Print a new Fernet key for TOKEN_ENCRYPTION_KEY."""
        click.echo(Fernet.generate_key().decode())

    @app.cli.command("set-password")
    @click.argument("email")
    @click.password_option("--password", prompt="New password", help="Asked for (hidden) when not given.")
    def set_password_command(email, password):
        """Set EMAIL's password and sign them out everywhere (every session signed in before ends)."""
        from webapp.extensions import db
        from webapp.models import User

        if len(password) < MIN_PASSWORD_LENGTH:
            raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="password")
        user = db.session.execute(
            db.select(User).filter(db.func.lower(User.email) == email.strip().lower())).scalar_one_or_none()
        if user is None:
            raise click.ClickException(f"No user has the email {email}.")
        user.set_password(password)
        db.session.commit()
        click.echo(f"Password changed for {user.email}; every session they had is signed out.")
