"""dashboard.text.literal: what it turns provider, URL and user text into before Streamlit's Markdown sees it
(tests/e2e/test_literal_text.py checks the same values in chromium)."""

from __future__ import annotations

import string

import pytest

from dashboard.text import JOINER, MARKDOWN, literal


def _shown(escaped: str) -> str:
    """What CommonMark shows: a backslash before punctuation is dropped; the joiners are invisible."""
    out, chars = [], iter(escaped)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars)
            assert nxt in string.punctuation, f"escaped a non-punctuation character {nxt!r}"
            out.append(nxt)
        else:
            out.append(ch)
    return "".join(out).replace(JOINER, "")


PLANTED = [
    "![x](https://evil.example/p.png)", "[Verify your account](https://evil.example)",
    "<img src=http://evil.example/i.png>", "**bold** _it_ ~~s~~ `code`", ":red[x] :material/home: :smile:",
    "$x$ costs $5 and $6", "# heading | a | b |", "&lt;b&gt; &amp;", "Café ¥1,200 — ok", "a\\*b\\",
]


@pytest.mark.parametrize("value", PLANTED)
def test_every_markdown_character_is_escaped_and_the_text_survives(value: str) -> None:
    escaped = literal(value)
    assert _shown(escaped) == value
    plain = escaped.replace(JOINER, "")
    i = 0
    while i < len(plain):
        if plain[i] == "\\":
            i += 2  # an escape and the character it escapes
            continue
        assert plain[i] not in MARKDOWN, f"{plain[i]!r} at {i} of {plain!r} is not escaped"
        i += 1


def test_exact_escapes() -> None:
    assert literal("**a**") == r"\*\*a\*\*"
    assert literal("![x](y)") == r"\!\[x\]\(y\)"
    assert literal("<i>") == r"\<i\>"
    assert literal("$5") == r"\$5"
    assert literal("a\\b") == "a\\\\b"  # a backslash itself is escaped, so it cannot escape what follows
    assert literal("plain text 123, KWD 12.340 / ISK 1,234") == "plain text 123, KWD 12.340 / ISK 1,234"


def test_autolink_patterns_are_broken_by_a_joiner() -> None:
    # remark-gfm links these on the decoded text, where escapes no longer exist.
    assert literal("https://evil.example") == "https\\:" + JOINER + "//evil.example"
    assert literal("WWW.evil.example") == "WWW" + JOINER + ".evil.example"
    assert literal("a@evil.example") == "a\\@" + JOINER + "evil.example"
    assert literal("www-x") == "www-x"  # only where a www. link could start


def test_a_colon_before_a_name_is_escaped_a_colon_before_a_space_is_not() -> None:
    # :red[x], :material/home: and :smile: open with a colon right before a name.
    assert literal(":red[x]") == "\\:" + JOINER + "red\\[x\\]"
    assert literal(":smile:") == "\\:" + JOINER + "smile:"
    assert literal("Done: refund re_1") == "Done: refund re\\_1"


@pytest.mark.parametrize(("value", "expected"), [
    ("- item", "\\- item"), ("+ item", "\\+ item"), ("1. item", "1\\. item"), ("12) item", "12\\) item"),
    ("---", "\\---"), ("  - item", "  \\- item"), ("a - b", "a - b"), ("2026-11-01", "2026-11-01"),
])
def test_a_block_marker_at_the_start_is_escaped(value: str, expected: str) -> None:
    assert literal(value) == expected


def test_line_breaks_cannot_start_a_block() -> None:
    assert literal("ok\n\n# Heading\r\n- item") == r"ok \# Heading - item"


def test_none_and_non_strings() -> None:
    assert literal(None) == ""
    assert literal(12.5) == "12.5"
