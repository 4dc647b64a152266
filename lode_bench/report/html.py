"""Small HTML helpers: escaping, safe file slugs, the page shell and sortable tables.

Every piece of text that reaches HTML goes through :func:`esc` (``html.escape`` with
quotes). Method and dataset names never become file names directly: :func:`slugify`
keeps ``[a-z0-9-]`` and appends a short hash, so hostile names cannot escape a folder
or collide.
"""

from __future__ import annotations

import html

#: Inline script that makes every ``table.sortable`` sortable by clicking a header.
#: Cells carry their numeric sort key in ``data-sort``; text cells sort by their text.
SORT_JS = """
(function () {
  "use strict";
  function key(cell) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { return cell.textContent.trim().toLowerCase(); }
    if (raw === "inf") { return Infinity; }
    if (raw === "-inf") { return -Infinity; }
    if (raw === "nan" || raw === "") { return NaN; }
    return parseFloat(raw);
  }
  function compare(a, b, dir) {
    var an = typeof a === "number", bn = typeof b === "number";
    if (an && isNaN(a)) { return 1; }
    if (bn && isNaN(b)) { return -1; }
    if (a < b) { return -dir; }
    if (a > b) { return dir; }
    return 0;
  }
  function sortBy(table, th, col) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var ths = table.tHead.rows[0].cells;
    for (var i = 0; i < ths.length; i++) { ths[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows = rows.map(function (r, i) { return [key(r.cells[col]), i, r]; });
    rows.sort(function (x, y) { return compare(x[0], y[0], dir) || (x[1] - y[1]); });
    rows.forEach(function (x) { body.appendChild(x[2]); });
  }
  function init() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      if (!table.tHead || !table.tBodies.length) { return; }
      var ths = table.tHead.rows[0].cells;
      Array.prototype.forEach.call(ths, function (th, col) {
        th.tabIndex = 0;
        th.title = "Sort by this column";
        th.addEventListener("click", function () { sortBy(table, th, col); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
        });
      });
    });
    document.body.setAttribute("data-sortable-ready", String(tables.length));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else { init(); }
})();
"""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1d2330; line-height: 1.45; }
h1, h2, h3 { line-height: 1.2; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #d6dae3; text-align: right; }
th:first-child, td:first-child, th.method, td.method { text-align: left; }
thead th { border-bottom: 2px solid #1d2330; cursor: pointer; user-select: none; }
thead th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 0.7em; }
thead th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 0.7em; }
td.best { font-weight: 700; }
.ci { color: #5b6478; font-size: 0.8em; }
.note { color: #5b6478; font-size: 0.9rem; }
.rejected { color: #9b1c1c; }
td { white-space: nowrap; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
           gap: 1rem; align-items: start; }
figure { margin: 0.5rem 0; }
figure.wide { grid-column: 1 / -1; }
figure img { max-width: 100%; border: 1px solid #d6dae3; }
figcaption { font-size: 0.85rem; color: #5b6478; }
code { background: #f2f4f8; padding: 0 0.2rem; }
dl.card dt { font-weight: 600; } dl.card dd { margin: 0 0 0.4rem 1rem; }
"""


def esc(text: object) -> str:
    """HTML-escape ``text`` (``str()`` of it), quotes included."""
    return html.escape(str(text), quote=True)


def page(
    title: str, body: str, *, nav: list[tuple[str, str]] | None = None, css_href: str | None = None
) -> str:
    """A complete HTML5 document with the sortable-table script inlined.

    Args:
        title: page title (escaped here).
        body: HTML body content (already escaped by the caller).
        nav: ``(href, label)`` links shown on top (both escaped here).
        css_href: link a stylesheet instead of inlining :data:`CSS`.
    """
    links = "".join(f'<a href="{esc(h)}">{esc(label)}</a>' for h, label in nav or [])
    style = (
        f'<link rel="stylesheet" href="{esc(css_href)}">' if css_href else f"<style>{CSS}</style>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n{style}\n"
        '<link rel="icon" href="data:,">\n</head>\n<body>\n'
        f"{'<nav>' + links + '</nav>' if links else ''}\n{body}\n"
        f"<script>{SORT_JS}</script>\n</body>\n</html>\n"
    )


def sort_key(value: float | None) -> str:
    """``data-sort`` attribute value of a number (``inf``/``nan`` spelled out)."""
    if value is None:
        return "nan"
    v = float(value)
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def figure(src: str, caption: str, alt: str | None = None, *, wide: bool = False) -> str:
    """An ``<figure>`` with an image and an escaped caption (``wide`` spans the grid)."""
    cls = ' class="wide"' if wide else ""
    return (
        f'<figure{cls}><img src="{esc(src)}" alt="{esc(alt or caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def figures(items: list[tuple[str, str]]) -> str:
    """A responsive grid of figures from ``(src, caption)`` pairs; crop comparisons
    (``*__crop.png``) span the full width."""
    if not items:
        return ""
    return (
        '<div class="figures">'
        + "".join(figure(src, cap, wide=src.endswith("__crop.png")) for src, cap in items)
        + "</div>"
    )
