"""Flask CLI commands: demo data, keys, users."""
import click
from cryptography.fernet import Fernet
from flask import Flask


def register_cli(app: Flask) -> None:
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
