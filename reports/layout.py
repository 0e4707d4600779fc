"""Page layout on a matplotlib Figure: header, footer, wrapped paragraphs, tables, chart boxes.

Positions are in inches from the page's top-left corner (``x`` right, ``y`` down), converted to
figure fractions only here. Text is wrapped by measuring it with the Agg renderer, so lines
never run past their box whatever the font size.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path

from distributions.errors import RunwayWarning
from reports import style
from reports.style import COLORS

__all__ = ["Column", "Page", "insert_pages", "text_width", "wrap"]

LINE_SPACING = 1.3


@functools.lru_cache(maxsize=8192)
def text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width of one line of ``text`` in inches at ``size`` points (the unhinted outline metrics
    the PDF uses)."""
    prop = FontProperties(family=style.RC["font.family"], size=size, weight=weight)
    w, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0


#: Where a word too long for its line may break: after one of these, else at any character.
BREAK_AFTER = "._-/"


def wrap(text: str, width: float, size: float, weight: str = "normal") -> list[str]:
    """Greedy word wrap of ``text`` into lines at most ``width`` inches wide (a word longer
    than the width is broken after its last fitting ``.``, ``_``, ``-`` or ``/``, else at
    characters). Explicit newlines are kept.

    A line's width is the sum of its words' widths and the spaces between them (there is no
    kerning across a space), so each distinct word is measured once.
    """
    space = text_width("x x", size, weight) - text_width("xx", size, weight)
    lines: list[str] = []
    for para in text.split("\n"):
        line, used = "", 0.0
        for word in para.split(" "):
            w = text_width(word, size, weight)
            if line and used + space + w <= width:
                line, used = f"{line} {word}", used + space + w
                continue
            if line:
                lines.append(line)
            while w > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and text_width(word[:cut], size, weight) > width:
                    cut -= 1
                # a dotted input name breaks after a dot (or _ - /) that fits, not mid-word
                soft = max(word.rfind(c, 1, cut) for c in BREAK_AFTER)
                if soft > 0:
                    cut = soft + 1
                lines.append(word[:cut])
                word = word[cut:]
                w = text_width(word, size, weight)
            line, used = word, w
        lines.append(line)
    return lines


def _overflow(what: str) -> None:
    """Content that does not fit its page: a bug in the layout, reported but not fatal (a
    slightly crowded page beats no report after an overnight run)."""
    warnings.warn(f"report layout: {what}", RunwayWarning, stacklevel=3)


def line_height(size: float) -> float:
    """Height of one text line in inches."""
    return size * LINE_SPACING / 72.0


CELL_PAD = 0.05  # inches of padding around a table cell's text


def _cells(row: Sequence[object], columns: Sequence[Column], size: float) -> list[list[str]]:
    """A table row's values wrapped to their column widths."""
    return [wrap(str(v), c.width - 2 * CELL_PAD, size) for v, c in zip(row, columns, strict=True)]


def _header_cells(columns: Sequence[Column], size: float) -> list[list[str]]:
    return [wrap(c.header, c.width - 2 * CELL_PAD, size, "bold") for c in columns]


def _cells_height(cells: list[list[str]], size: float) -> float:
    return max(len(c) for c in cells) * line_height(size) + 2 * CELL_PAD


@dataclass(frozen=True)
class Column:
    """A table column: header text, width in inches, alignment ("left" / "right" / "center")."""

    header: str
    width: float
    align: str = "right"


class Page:
    """One A4-landscape page with the report's header; place content with inch coordinates."""

    def __init__(self, title: str, scenario: str) -> None:
        self.fig = style.page_figure()
        self.width, self.height = style.PAGE_SIZE
        self.left = style.MARGIN_LEFT
        self.right = self.width - style.MARGIN_RIGHT
        self.title = title
        self.scenario = scenario
        self.y = style.CONTENT_TOP  # the cursor: top of the next block
        self._header()

    # ----- coordinates ------------------------------------------------------------------------
    @property
    def content_width(self) -> float:
        return self.right - self.left

    @property
    def bottom(self) -> float:
        """Lowest y content may reach."""
        return self.height - style.FOOTER_HEIGHT - 0.15

    def _fx(self, x: float) -> float:
        return x / self.width

    def _fy(self, y: float) -> float:
        return 1.0 - y / self.height

    # ----- primitives -------------------------------------------------------------------------
    def text(
        self,
        x: float,
        y: float,
        s: str,
        *,
        size: float = style.BODY_SIZE,
        weight: str = "normal",
        color: str = COLORS["ink"],
        ha: str = "left",
        va: str = "top",
        **kw: Any,
    ) -> None:
        """One text object at (x, y) inches."""
        self.fig.text(
            self._fx(x),
            self._fy(y),
            s,
            fontsize=size,
            fontweight=weight,
            color=color,
            ha=ha,
            va=va,
            **kw,
        )

    def rule(
        self,
        y: float,
        x0: float | None = None,
        x1: float | None = None,
        color: str = COLORS["rule"],
        lw: float = 0.8,
    ) -> None:
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        self.fig.add_artist(
            Line2D(
                [self._fx(x0), self._fx(x1)],
                [self._fy(y)] * 2,
                transform=self.fig.transFigure,
                color=color,
                lw=lw,
            )
        )

    def box(self, x: float, y: float, w: float, h: float, color: str) -> None:
        """A filled rectangle, top-left at (x, y), behind text."""
        self.fig.add_artist(
            Rectangle(
                (self._fx(x), self._fy(y + h)),
                w / self.width,
                h / self.height,
                transform=self.fig.transFigure,
                facecolor=color,
                edgecolor="none",
                zorder=-1,
            )
        )

    def axes(self, x: float, y: float, w: float, h: float) -> Axes:
        """Axes whose plotting box has its top-left corner at (x, y) inches, w x h inches."""
        return self.fig.add_axes((self._fx(x), self._fy(y + h), w / self.width, h / self.height))

    # ----- blocks (advance the cursor) ---------------------------------------------------------
    def heading(self, s: str, *, size: float = style.HEADING_SIZE, gap: float = 0.08) -> None:
        self.text(self.left, self.y, s, size=size, weight="bold")
        self.y += line_height(size) + gap

    def paragraph(
        self,
        s: str,
        *,
        x: float | None = None,
        width: float | None = None,
        size: float = style.BODY_SIZE,
        weight: str = "normal",
        color: str = COLORS["ink"],
        gap: float = 0.12,
    ) -> float:
        """Wrapped text from the cursor (which moves below it); returns its height in inches."""
        x = self.left if x is None else x
        width = (self.right - x) if width is None else width
        lines = wrap(s, width, size, weight)
        self.text(
            x,
            self.y,
            "\n".join(lines),
            size=size,
            weight=weight,
            color=color,
            linespacing=LINE_SPACING,
        )
        height = len(lines) * line_height(size)
        if self.y + height > self.bottom + 0.01:
            _overflow(f"text runs into the footer of the page '{self.title}'")
        self.y += height + gap
        return height

    def fitting_size(
        self, s: str, width: float, sizes: Sequence[float], *, reserve: float = 0.0
    ) -> float:
        """The largest of ``sizes`` at which ``s`` wrapped to ``width`` fits between the cursor
        and ``reserve`` inches above the page bottom (the smallest if none does)."""
        room = self.bottom - self.y - reserve
        for size in sorted(sizes, reverse=True):
            if len(wrap(s, width, size)) * line_height(size) <= room:
                return size
        return min(sizes)

    @staticmethod
    def table_height(
        columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float
    ) -> float:
        """Height in inches that :meth:`table` will take for these rows (gap excluded)."""
        height = 0.0
        if any(c.header for c in columns):
            height += _cells_height(_header_cells(columns, size), size)
        return height + sum(_cells_height(_cells(row, columns, size), size) for row in rows)

    def table(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[str]],
        *,
        x: float | None = None,
        size: float = 8.5,
        bold_first: bool = False,
        gap: float = 0.15,
        shade: Sequence[bool] | None = None,
        paginate: bool = False,
    ) -> int:
        """A table from the cursor: bold header, rules, zebra rows, wrapped cells.

        With ``paginate``, draws as many rows as fit above the page bottom and returns how many
        it drew (the caller continues on a new page).
        Otherwise draws every row: running past the bottom is a layout bug, reported with a
        :class:`RunwayWarning` rather than by leaving rows out. ``shade``: which rows get the
        zebra band (default: every second row).
        """
        x = self.left if x is None else x
        limit = self.bottom
        total_w = sum(c.width for c in columns)
        y = self.y
        if any(c.header for c in columns):
            head_lines = _header_cells(columns, size)
            head_h = _cells_height(head_lines, size)
            self._row(columns, head_lines, x, y, size, "bold", height=head_h)
            y += head_h
        self.rule(y, x, x + total_w, color=COLORS["muted"], lw=0.9)
        drawn = 0
        for i, row in enumerate(rows):
            cells = _cells(row, columns, size)
            h = _cells_height(cells, size)
            if paginate and y + h > limit:
                break
            if shade[i] if shade is not None else i % 2 == 1:
                self.box(x, y, total_w, h, COLORS["band"])
            weights = ["bold" if bold_first and j == 0 else "normal" for j in range(len(columns))]
            self._row(columns, cells, x, y, size, weights, height=h)
            y += h
            drawn += 1
        self.rule(y, x, x + total_w, color=COLORS["muted"], lw=0.9)
        self.y = y + gap
        if y > limit:
            _overflow(f"a table runs past the bottom of the page '{self.title}'")
        return drawn

    def _row(
        self,
        columns: Sequence[Column],
        cells: Sequence[list[str]],
        x: float,
        y: float,
        size: float,
        weight: str | Sequence[str],
        *,
        height: float,
    ) -> None:
        pad = CELL_PAD
        for j, (col, lines) in enumerate(zip(columns, cells, strict=True)):
            w = weight if isinstance(weight, str) else weight[j]
            tx = {"left": x + pad, "right": x + col.width - pad, "center": x + col.width / 2}
            self.text(
                tx[col.align],
                y + pad,
                "\n".join(lines),
                size=size,
                weight=w,
                ha=col.align,
                linespacing=LINE_SPACING,
            )
            x += col.width

    # ----- header and footer -------------------------------------------------------------------
    def _header(self) -> None:
        top = style.HEADER_BASELINE
        self.text(self.left, top, self.title, size=style.TITLE_SIZE, weight="bold", va="baseline")
        self.text(
            self.right,
            top,
            self.scenario,
            size=11,
            color=COLORS["muted"],
            ha="right",
            va="baseline",
        )
        self.rule(style.HEADER_RULE, color=COLORS["main"], lw=1.6)

    def footer(self, number: int, total: int, note: str) -> None:
        """Page number and a short note (scenario, run) at the bottom."""
        y = self.height - style.FOOTER_HEIGHT + 0.12
        self.rule(y - 0.08)
        self.text(self.left, y, note, size=7.5, color=COLORS["muted"])
        self.text(
            self.right, y, f"Page {number} of {total}", size=7.5, color=COLORS["muted"], ha="right"
        )

    def caption(self, s: str, *, x: float | None = None, width: float | None = None) -> float:
        """Small grey explanatory text from the cursor."""
        return self.paragraph(s, x=x, width=width, size=style.CAPTION_SIZE, color=COLORS["muted"])


_PAGE_NUMBER = re.compile(r"Page \d+ of \d+")


def _footer_note(pages: Sequence[Page]) -> str:
    """The footer note of finished pages (the text drawn just before the page number)."""
    texts = pages[0].fig.texts
    for i, t in enumerate(texts):
        if _PAGE_NUMBER.fullmatch(t.get_text()) and i > 0:
            return texts[i - 1].get_text()
    return f"Runway risk report · {pages[0].scenario}"


def insert_pages(pages: Sequence[Page], new: Sequence[Page], at: int) -> list[Page]:
    """``pages`` (footers drawn) with ``new`` (no footers yet) inserted before index ``at``:
    the new pages get the same footer note, every page number is redrawn for the new total."""
    note = _footer_note(pages) if pages else ""
    out = [*pages[:at], *new, *pages[at:]]
    added = {id(p) for p in new}
    for number, p in enumerate(out, start=1):
        if id(p) in added:
            p.footer(number, len(out), note)
            continue
        for t in p.fig.texts:
            if _PAGE_NUMBER.fullmatch(t.get_text()):
                t.set_text(f"Page {number} of {len(out)}")
    return out
