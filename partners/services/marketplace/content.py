"""Listing descriptions: Markdown rendered with markdown-it-py (CommonMark, raw HTML off) and
then cleaned by nh3 (the Ammonia sanitiser) with an allow-list, so no script, event handler or
``javascript:`` URL survives, and every link gets ``rel="nofollow noopener"``.

nh3 rather than bleach: bleach is deprecated by its maintainers; nh3 is maintained, fast, and
allow-list only."""

import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener"

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def markdown_render(text: str) -> str:
    """Safe HTML of the Markdown ``text``."""
    html = _markdown.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        filter_style_properties={"text-align"},
    )


def plain_text(html: str) -> str:
    """The words of rendered ``html`` (for the search document)."""
    return _SPACES.sub(" ", _TAGS.sub(" ", html)).strip()
