"""Literal text for Streamlit's Markdown: every string that came from a provider, a URL or a user goes through
`literal()` before it reaches an alert, caption, markdown, subheader, metric (label, value, help), button, tab,
expander, radio or progress text, all of which Streamlit renders as Markdown. Selectbox options and dataframes
are plain text already and take the raw value."""

from __future__ import annotations

import re

# Backslash-escaped (CommonMark shows an escaped punctuation character as itself): everything that can start
# inline Markdown ([link](), ![image](), **, _, `code`, ~~), raw HTML and entities (<img>, &lt;), LaTeX ($x$, and
# "$5 and $6"), a table cell (|), a heading or quote (#, >). Checked in chromium against Streamlit 1.67
# (tests/e2e/test_literal_text.py). Other punctuation (, . / ' ...) means nothing inline, so amounts such as
# "KWD 12.340" read as before.
MARKDOWN = frozenset("\\`*_{}[]()<>#!|~$&^")
# remark-gfm links http(s)://, www. and a@b.c AFTER parsing, on the decoded text, so no escape stops it; an
# invisible WORD JOINER after each '@', after a ':' that something follows, and between 'www' and '.' breaks
# those patterns (a copied value carries the joiner; tables and CSVs show the raw value).
JOINER = "\u2060"
_ESCAPE = {ord(ch): "\\" + ch for ch in MARKDOWN} | {ord("@"): "\\@" + JOINER}
_WWW = re.compile(r"(?<=www)(?=\.)", re.IGNORECASE)
# A ':' right before a name opens Streamlit's directives (:red[x], :material/icon:, :emoji:) and http(s)://; a
# ':' before a space or the end ("Done: refund") opens nothing and stays as it is.
_COLON = re.compile(r":(?=\S)")
# Line breaks would let a value start a block (a list, a heading, a code fence) on a line of its own.
_BREAKS = re.compile(r"[\r\n\t\f\v\u2028\u2029\x85]+")
# A list item or a thematic break can still open the text itself: "- x", "+ x", "1. x", "2) x", "---".
_BLOCK_START = re.compile(r"^(\s*)(\d{1,9}(?=[.)])|)([-+=.)])(?=\s|$|[-=])")


def literal(value: object) -> str:
    """`value` as text that Streamlit's Markdown renderer shows character for character (None shows as '')."""
    if value is None:
        return ""
    text = _WWW.sub(JOINER, _BREAKS.sub(" ", str(value))).translate(_ESCAPE)
    text = _COLON.sub(lambda _: "\\:" + JOINER, text)
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}", text, count=1)
