"""The one sanitising policy for HTML the service sends out (nh3, a binding of ammonia).

Structure, text and harmless attributes survive; scripts, styles, event handlers
(``on*``), ``javascript:`` and other non-web URLs, forms and embedded objects do
not. ``rel`` and ``target`` of links are kept as the page had them.
"""

from __future__ import annotations

import nh3

TAGS = frozenset(nh3.ALLOWED_TAGS) | {
    "main",
    "section",
    "picture",
    "source",
    "tfoot",
}
# Removed together with their content (not only their tags).
CONTENT_REMOVED = frozenset(
    {"script", "style", "template", "noscript", "textarea", "select", "button", "iframe", "object"}
)
GENERIC_ATTRIBUTES = frozenset({"lang", "dir", "title", "class", "id", "translate", "role"})
ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": set(GENERIC_ATTRIBUTES),
    "a": {"href", "hreflang", "rel", "target", "name", "type"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading"},
    "source": {"src", "srcset", "sizes", "type", "media"},
    "time": {"datetime"},
    "data": {"value"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "abbr": {"title"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def sanitize_html(html: str) -> str:
    """``html`` (a fragment) with everything unsafe removed; well-formed by construction."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(CONTENT_REMOVED),
        attributes=ATTRIBUTES,
        generic_attribute_prefixes={"data-", "aria-"},
        url_schemes=set(URL_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
