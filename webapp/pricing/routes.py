"""Services & Pricing: pricing menus, their services, and Billing & Engagement Letter Settings.

Pricing decides what every client pays, so only owners and admins change it (manager_required); staff see the
pages read-only ("Only owners and admins can change pricing.").
"""
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import login_required

from webapp.htmx import is_htmx_request, render_fragment, render_page_or_fragment
from webapp.models import PricingMenu, Service
from webapp.pricing import bp
from webapp.pricing.forms import MenuForm, ServiceForm
from webapp.scoping import current_practice_id, get_or_404, is_manager, manager_required
from webapp.services import pricing as pricing_service

# --- the page and its menus ---------------------------------------------------------------------

def _body_context(menu: PricingMenu | None, **extra) -> dict:
    context: dict[str, Any] = {
        "menus": pricing_service.practice_menus(current_practice_id()),
        "menu": menu,
        "menu_form": MenuForm(formdata=None),
        "rename_form": None,
        "service_form": ServiceForm(formdata=None),
        "editing_id": None,
        "edit_form": None,
        "row_errors": {},
        "can_manage": is_manager(),
    }
    context.update(extra)
    return context


def _render_body(menu: PricingMenu | None, status: int = 200, **extra):
    """The Services & Pricing page, or its body (menus + selected menu) for htmx."""
    return render_page_or_fragment("pricing/index.html", "pricing/_pricing_body.html", status,
                                   **_body_context(menu, **extra))


@bp.route("/")
@login_required
def index():
    practice_id = current_practice_id()
    menus = pricing_service.practice_menus(practice_id)
    return _render_body(pricing_service.active_menu(practice_id) or (menus[0] if menus else None))


@bp.route("/menus/<int:menu_id>")
@login_required
def menu(menu_id):
    return _render_body(get_or_404(PricingMenu, menu_id))


@bp.route("/menus", methods=["POST"])
@login_required
@manager_required
def create_menu():
    form = MenuForm(request.form)
    selected = pricing_service.active_menu(current_practice_id())
    if form.validate():
        try:
            created = pricing_service.create_menu(current_practice_id(), form.name.data)
        except pricing_service.DuplicateMenuName:
            form.name.errors.append("You already have a menu with this name.")
        else:
            return _after_menu_change(created, f"Pricing menu “{created.name}” created.")
    return _render_body(selected, 422, menu_form=form)


@bp.route("/menus/<int:menu_id>/rename", methods=["GET", "POST"])
@login_required
@manager_required
def rename_menu(menu_id):
    menu = get_or_404(PricingMenu, menu_id)
    if request.method == "GET":
        return _render_body(menu, rename_form=MenuForm(obj=menu))
    form = MenuForm(request.form)
    if form.validate():
        try:
            pricing_service.rename_menu(menu, form.name.data)
        except pricing_service.DuplicateMenuName:
            form.name.errors.append("You already have a menu with this name.")
        else:
            return _after_menu_change(menu, "Renamed.")
    return _render_body(menu, 422, rename_form=form)


@bp.route("/menus/<int:menu_id>/activate", methods=["POST"])
@login_required
@manager_required
def activate_menu(menu_id):
    menu = pricing_service.activate_menu(get_or_404(PricingMenu, menu_id))
    return _after_menu_change(menu, f"“{menu.name}” is now the Active Pricing Menu.")


def _after_menu_change(menu: PricingMenu, message: str):
    if is_htmx_request():
        return _render_body(menu, notice=message)
    flash(message, "success")
    return redirect(url_for("pricing.menu", menu_id=menu.id), code=303)


# --- services -----------------------------------------------------------------------------------

@bp.route("/menus/<int:menu_id>/services", methods=["POST"])
@login_required
@manager_required
def add_service(menu_id):
    menu = get_or_404(PricingMenu, menu_id)
    form = ServiceForm(request.form)
    if not form.validate() or not _name_is_free(form, menu.id):
        return _render_services(menu, 422, service_form=form)
    service = pricing_service.add_service(menu, form.service_fields())
    if is_htmx_request():
        return _render_services(menu, added_id=service.id)
    flash(f"{service.name} added.", "success")
    return redirect(url_for("pricing.menu", menu_id=menu.id), code=303)


def _name_is_free(form: ServiceForm, menu_id: int, service_id: int | None = None) -> bool:
    """No other service on the menu has the form's name; else the name field says so."""
    name = (form.name.data or "").strip()
    if not pricing_service.service_name_taken(menu_id, name, exclude_id=service_id):
        return True
    form.name.errors = [*form.name.errors, f"This menu already has a service called “{name}”: give this one "
                                            "a name of its own, or edit that one."]
    return False


def _render_services(menu: PricingMenu, status: int = 200, **extra):
    """The services section of a menu for htmx, or the whole page."""
    if is_htmx_request():
        return render_fragment("pricing/_services_table.html", status, **_body_context(menu, **extra))
    return _render_body(menu, status, **extra)


@bp.route("/services/<int:service_id>")
@login_required
def service_row(service_id):
    service = get_or_404(Service, service_id)
    if is_htmx_request():
        return render_fragment("pricing/_service_row.html", service=service, menu=service.pricing_menu,
                               can_manage=is_manager())
    return redirect(url_for("pricing.menu", menu_id=service.pricing_menu_id))


@bp.route("/services/<int:service_id>/edit")
@login_required
@manager_required
def edit_service(service_id):
    service = get_or_404(Service, service_id)
    return _render_service_edit(service, ServiceForm(obj=service))


def _render_service_edit(service: Service, form: ServiceForm, status: int = 200):
    if is_htmx_request():
        return render_fragment("pricing/_service_edit_row.html", status, service=service, edit_form=form)
    return _render_body(service.pricing_menu, status, editing_id=service.id, edit_form=form)


@bp.route("/services/<int:service_id>", methods=["POST"])
@login_required
@manager_required
def update_service(service_id):
    service = get_or_404(Service, service_id)
    form = ServiceForm(request.form)
    if not form.validate() or not _name_is_free(form, service.pricing_menu_id, service.id):
        return _render_service_edit(service, form, 422)
    pricing_service.update_service(service, form.service_fields())
    if is_htmx_request():
        return render_fragment("pricing/_service_row.html", service=service, menu=service.pricing_menu, saved=True,
                               can_manage=True)
    flash(f"{service.name} saved.", "success")
    return redirect(url_for("pricing.menu", menu_id=service.pricing_menu_id), code=303)


@bp.route("/services/<int:service_id>/delete", methods=["POST"])
@login_required
@manager_required
def delete_service(service_id):
    service = get_or_404(Service, service_id)
    menu = service.pricing_menu
    try:
        pricing_service.delete_service(service)
    except pricing_service.ServiceInUse:
        message = (f"{service.name} cannot be deleted: clients are engaged on it or it has been invoiced. "
                   "End those engagements instead.")
        if is_htmx_request():
            return render_fragment("pricing/_service_row.html", 409, service=service, menu=menu,
                                   row_error=message, can_manage=True)
        return _render_body(menu, 409, row_errors={service.id: message})
    if is_htmx_request():
        response = make_response("", 200)  # swapped over the row's outerHTML: the row disappears
        response.vary.add("HX-Request")
        return response
    flash("Service deleted.", "success")
    return redirect(url_for("pricing.menu", menu_id=menu.id), code=303)


# --- Billing & Engagement Letter Settings (account codes per service) ---------------------------

def _dialog_context(menu: PricingMenu, **extra) -> dict:
    available, rows = pricing_service.account_code_rows(current_practice_id(), list(menu.services))
    context = {"menu": menu, "available": available, "rows": rows, "row_errors": {}, "saved_id": None,
               "can_edit": is_manager()}
    context.update(extra)
    return context


@bp.route("/menus/<int:menu_id>/billing-settings")
@login_required
def billing_settings(menu_id):
    menu = get_or_404(PricingMenu, menu_id)
    return render_page_or_fragment("pricing/billing_settings.html", "pricing/_billing_settings_dialog.html",
                                   **_dialog_context(menu))


@bp.route("/services/<int:service_id>/account-code", methods=["POST"])
@login_required
@manager_required
def save_account_code(service_id):
    service = get_or_404(Service, service_id)  # account codes are Xero settings, like the practice defaults
    error = None
    if "account_code" not in request.form:  # "" is "Use default"; absent is a stale page, not a choice
        error = "Choose an account code, or Use default."
    else:
        try:
            pricing_service.set_service_account_code(service, request.form["account_code"])
        except pricing_service.InvalidAccountCode as invalid:
            error = str(invalid)
    status = 422 if error else 200
    if is_htmx_request():
        practice_id = current_practice_id()
        return render_fragment("pricing/_account_code_row.html", status,
                               row=pricing_service.account_code_row(practice_id, service),
                               available=pricing_service.xero_accounts_available(practice_id),
                               can_edit=True, error=error, saved=error is None)
    if error:
        return render_template("pricing/billing_settings.html", **_dialog_context(
            service.pricing_menu, row_errors={service.id: error})), status
    flash(f"Account code for {service.name} saved.", "success")
    return redirect(url_for("pricing.billing_settings", menu_id=service.pricing_menu_id), code=303)
