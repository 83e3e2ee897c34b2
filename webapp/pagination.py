"""Which page links a pager shows: a window around the current page, not one link per page."""
from dataclasses import dataclass

AROUND = 2  # page numbers shown on each side of the current page


class PageNumbers:
    """has_previous / has_next for a page of a list: a dataclass with `page` (1-based) and `pages` (at least 1)."""

    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True)
class PageWindow:
    """The links of a pager: `numbers` in order with None for a gap (shown as "…"), and the previous and
    next pages (None on the first and last page)."""

    page: int
    pages: int
    numbers: tuple[int | None, ...]

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def page_window(page: int, pages: int, around: int = AROUND) -> PageWindow:
    """The first and last pages and `around` pages either side of `page` (clamped to 1…pages).

    At most 2 × `around` + 5 entries whatever the number of pages; a gap of a single page shows that page
    rather than "…", which would take the same room.
    """
    pages = max(1, pages)
    page = min(max(1, page), pages)
    shown = sorted({1, pages} | set(range(max(1, page - around), min(pages, page + around) + 1)))
    numbers: list[int | None] = [shown[0]]
    for before, number in zip(shown, shown[1:], strict=False):
        if number - before == 2:
            numbers.append(before + 1)
        elif number - before > 2:
            numbers.append(None)
        numbers.append(number)
    return PageWindow(page=page, pages=pages, numbers=tuple(numbers))
