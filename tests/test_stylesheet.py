"""socket.css stays one well-formed stylesheet: every block closes, and each part's section starts at the top level.

A brace lost while merging two parts' sections once left every rule after it inside a phone-only media query: the
desktop pages quietly lost the settings and table styles while the browser tests still passed."""
import re
from pathlib import Path

STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "css" / "socket.css"
SECTION = re.compile(r"/\* === (.+?) === \*/")


def depths(css: str) -> list[tuple[int, int]]:
    """(offset, nesting depth there) for every brace, comments skipped."""
    out, depth = [], 0
    for match in re.finditer(r"/\*.*?\*/|[{}]", css, re.S):
        if match.group() == "{":
            depth += 1
        elif match.group() == "}":
            depth -= 1
        else:
            continue
        out.append((match.start(), depth))
    return out


def depth_at(css: str, offset: int) -> int:
    depth = 0
    for position, value in depths(css):
        if position >= offset:
            break
        depth = value
    return depth


def test_every_block_in_the_stylesheet_closes():
    css = STYLESHEET.read_text()
    assert all(depth >= 0 for _, depth in depths(css)), "a } closes a block that was never opened"
    assert depths(css)[-1][1] == 0, "a block is never closed"


def test_each_parts_section_starts_outside_any_block():
    css = STYLESHEET.read_text()
    sections = list(SECTION.finditer(css))
    assert sections, "socket.css has lost its section headings"
    inside = [match.group(1) for match in sections if depth_at(css, match.start()) != 0]
    assert not inside, f"these sections sit inside an unclosed block: {inside}"


def test_the_check_finds_an_unclosed_media_query():
    broken = "@media (max-width: 767px) {\n  .a { color: red; }\n\n/* === Settings === */\n.b { color: blue; }\n"
    assert depth_at(broken, broken.index("/* === Settings")) == 1 and depths(broken)[-1][1] == 1
