/* Socket's few behaviours beyond htmx, with no inline handlers (a strict Content-Security-Policy allows no inline
   script). Each is switched on by a data- attribute and handled by one listener on the document, so markup that
   htmx swaps in later works without setting anything up again.

     data-dismiss[="selector"]           a button that removes its closest `selector` (default: its parent)
     data-open-dialog="id"               a link or button that opens <dialog id> as a modal (and closes the <details>
                                         dropdown it sits in); htmx still loads the dialog's content from the link
     data-close-dialog                   closes the <dialog> it is in; on a page of its own (no dialog), goes back
     data-return-focus="selector"        on a <dialog>: where focus goes when it closes (Escape or ×); without
                                         it, focus returns to whatever opened it
     data-toggle-nav                     the phone's Menu button: shows or hides the element its aria-controls names
                                         (socket.css hides it while aria-expanded is "false"); Escape closes it
     data-submit-on-change-without-htmx  a control whose change submits its form when htmx is not loaded (with
                                         htmx, its hx- attributes do the work; without JavaScript, the form's
                                         own button)
*/
(function () {
  "use strict";

  var openers = new WeakMap();  // dialog -> the element that opened it

  function setExpanded(toggle, expanded) {
    toggle.setAttribute("aria-expanded", expanded ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;

    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var selector = dismiss.getAttribute("data-dismiss");
      var doomed = selector ? dismiss.closest(selector) : dismiss.parentElement;
      if (doomed) doomed.remove();
      return;
    }

    var navToggle = target.closest("[data-toggle-nav]");
    if (navToggle) {
      setExpanded(navToggle, navToggle.getAttribute("aria-expanded") !== "true");
      return;
    }

    var opener = target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      var dropdown = opener.closest("details");
      if (dropdown) dropdown.open = false;
      if (dialog && typeof dialog.showModal === "function" && !dialog.open) {
        openers.set(dialog, opener);
        dialog.showModal();
      }
      return;
    }

    var closer = target.closest("[data-close-dialog]");
    if (closer) {
      var own = closer.closest("dialog");
      if (own) {
        own.close();
      } else {
        history.back();
      }
    }
  });

  // `close` does not bubble: listen while it is captured on its way down to the dialog.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement)) return;
    var selector = dialog.getAttribute("data-return-focus");
    var back = selector ? document.querySelector(selector) : openers.get(dialog);
    openers.delete(dialog);
    if (back && back.isConnected && typeof back.focus === "function") back.focus();
  }, true);

  // Escape closes the phone's menu from anywhere in it, and gives focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector('[data-toggle-nav][aria-expanded="true"]');
    if (!open) return;
    var panel = document.getElementById(open.getAttribute("aria-controls"));
    var focused = document.activeElement;
    if (focused !== open && !(panel && panel.contains(focused))) return;
    setExpanded(open, false);
    open.focus();
  });

  document.addEventListener("change", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var control = target && target.closest("[data-submit-on-change-without-htmx]");
    if (control && !window.htmx && control.form) control.form.submit();
  });
})();
