"""No template carries inline script: a strict Content-Security-Policy (script-src without 'unsafe-inline') would
block it. Behaviour lives in static/js/socket.js, switched on by data- attributes; htmx's hx-on attributes are
inline script too (htmx evaluates them), so they are refused as well."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)  # comments, tags and expressions: not the HTML itself


def templates():
    return sorted(TEMPLATES.rglob("*.html"))


class Scripts(HTMLParser):
    """Inline handler attributes (on…=, hx-on…) and <script> elements with a body, with their line numbers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script_line = None
        self._script_body = ""

    def handle_starttag(self, tag, attrs):
        for name, _ in attrs:
            if re.fullmatch(r"on[a-z]+", name) or name.startswith("hx-on"):
                self.problems.append(f"line {self.getpos()[0]}: <{tag} {name}=…>")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.problems.append(f"line {self.getpos()[0]}: <script> without src")
            self._script_line, self._script_body = self.getpos()[0], ""

    def handle_data(self, data):
        if self._script_line is not None:
            self._script_body += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script_line is not None:
            if self._script_body.strip():
                self.problems.append(f"line {self._script_line}: <script> with an inline body")
            self._script_line = None


@pytest.mark.parametrize("path", templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_inline_script_in_templates(path):
    source = path.read_text(encoding="utf-8")
    # The HTML with the Jinja parts blanked out (line numbers kept), searched as text and parsed as HTML...
    html = JINJA.sub(lambda m: "\n" * m.group(0).count("\n") or " ", source)
    found = [m.group(0) for m in re.finditer(r"\s(on[a-z]+|hx-on[\w:.-]*)\s*=", html)]
    assert not found, f"inline handlers in {path.name}: {found}"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), f"<script> without src in {path.name}"
    assert not re.search(r"javascript:", source, re.I), f"javascript: URL in {path.name}"
    # ...and attributes that Jinja would print from a dict (e.g. attrs={"onchange": ...} given to a form macro).
    in_jinja = [m.group(0) for m in re.finditer(r"[\"'](on[a-z]+|hx-on[\w:.-]*)[\"']\s*:", source)]
    assert not in_jinja, f"inline handlers given as attributes in {path.name}: {in_jinja}"
    parser = Scripts()
    parser.feed(html)
    parser.close()
    assert not parser.problems, f"{path.name}: {parser.problems}"


def test_the_behaviours_are_in_the_static_script_loaded_by_the_layout():
    layout = (TEMPLATES / "layout.html").read_text(encoding="utf-8")
    assert re.search(r"<script src=\"{{ url_for\('static', filename='js/socket.js'\) }}\" defer></script>", layout)
    script = (TEMPLATES.parent / "static" / "js" / "socket.js").read_text(encoding="utf-8")
    for hook in ("data-dismiss", "data-open-dialog", "data-close-dialog", "data-return-focus",
                 "data-submit-on-change-without-htmx"):
        assert hook in script
    used = "".join(path.read_text(encoding="utf-8") for path in templates())
    for hook in ("data-dismiss", "data-open-dialog", "data-close-dialog", "data-return-focus",
                 "data-submit-on-change-without-htmx"):
        assert hook in used, f"{hook} is not used by any template any more: remove it from socket.js"


def test_the_guard_finds_what_it_is_meant_to_find():
    parser = Scripts()
    parser.feed('<button onclick="go()"></button><div hx-on:click="x"></div><script>alert(1)</script>'
                '<script src="/static/vendor/htmx.js"></script>')
    parser.close()
    assert len(parser.problems) == 4  # onclick, hx-on, a script without src, and its body
