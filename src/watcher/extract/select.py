"""Selectors: CSS by default, XPath when written `xpath:...`, compiled once and reused."""

from __future__ import annotations

from functools import lru_cache

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

XPATH_PREFIX = "xpath:"


@lru_cache(maxsize=4096)
def compile_selector(selector: str) -> etree.XPath:
    """Compile a selector into an XPath callable; raise ValueError naming what is wrong."""
    if selector.startswith(XPATH_PREFIX):
        expression = selector[len(XPATH_PREFIX) :].strip()
        if not expression:
            raise ValueError("empty XPath expression after 'xpath:'")
        try:
            return etree.XPath(expression)
        except etree.XPathSyntaxError as exc:
            raise ValueError(f"invalid XPath {expression!r}: {exc}") from None
    if not selector.strip():
        raise ValueError("empty CSS selector")
    try:
        expression = HTMLTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {selector!r}: {exc}") from None
    return etree.XPath(expression)
