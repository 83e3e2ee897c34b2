"""The pager's window (webapp/pagination.py): first, last and a few pages around the current one."""
import pytest

from webapp.pagination import page_window

PAGES_AT_5000_CLIENTS = 200  # 5,000 clients at 25 a page


@pytest.mark.parametrize("page, numbers", [
    (1, (1, 2, 3, None, 200)),
    (100, (1, None, 98, 99, 100, 101, 102, None, 200)),
    (200, (1, None, 198, 199, 200)),
    (5, (1, 2, 3, 4, 5, 6, 7, None, 200)),  # page 2 is shown, not "…" in its place
    (6, (1, None, 4, 5, 6, 7, 8, None, 200)),
])
def test_a_long_list_shows_first_last_and_the_pages_around_this_one(page, numbers):
    assert page_window(page, PAGES_AT_5000_CLIENTS).numbers == numbers


def test_no_page_of_a_long_list_shows_more_than_nine_entries():
    assert max(len(page_window(page, PAGES_AT_5000_CLIENTS).numbers) for page in range(1, 201)) == 9


def test_a_short_list_shows_every_page():
    assert page_window(3, 7).numbers == (1, 2, 3, 4, 5, 6, 7)
    assert page_window(1, 1).numbers == (1,)


def test_previous_and_next_stop_at_the_ends():
    first, middle, last = page_window(1, 200), page_window(100, 200), page_window(200, 200)
    assert (first.previous, first.next) == (None, 2)
    assert (middle.previous, middle.next) == (99, 101)
    assert (last.previous, last.next) == (199, None)


def test_a_page_outside_the_list_is_clamped():
    assert page_window(0, 5).page == 1 and page_window(9, 5).page == 5
    assert page_window(1, 0).numbers == (1,)
