"""reports.layout.wrap: lines fit their width, nothing is lost, and a long dotted input name
breaks after a dot (or _ - /), not in the middle of a word."""

from __future__ import annotations

import pytest

from reports.layout import text_width, wrap

SIZE = 7.5


@pytest.mark.parametrize("width", [0.6, 1.0, 1.5, 2.05])
def test_a_long_name_breaks_after_its_separators(width):
    name = "enterprise.collection.delay_months_of_the_line"
    lines = wrap(name, width, SIZE)
    assert "".join(lines) == name
    assert all(text_width(line, SIZE) <= width for line in lines)
    for line in lines[:-1]:  # every break right after a separator: none inside a word
        assert line[-1] in "._-/", lines


def test_a_word_without_separators_still_breaks_at_characters():
    word = "abcdefghijklmnopqrstuvwxyz" * 3
    lines = wrap(word, 1.0, SIZE)
    assert "".join(lines) == word and len(lines) > 1
    assert all(text_width(line, SIZE) <= 1.0 for line in lines)


def test_words_that_fit_are_not_broken():
    assert wrap("cash runs out", 3.0, SIZE) == ["cash runs out"]
    assert wrap("a.b c.d", 3.0, SIZE) == ["a.b c.d"]
