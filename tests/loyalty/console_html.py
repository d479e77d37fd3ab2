"""Reading an admin page as an operator sees it: the visible text nodes, and which of them are
the page's own words (column titles, field labels, headings, buttons) rather than data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

HIDDEN = {"script", "style", "template", "head", "noscript", "textarea"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
CHROME = {"th", "label", "h1", "h2", "h3", "legend", "caption", "button"}
SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Text:
    text: str
    chrome: bool  # a title, label, heading or button: the console's words, not data
    where: str  # the enclosing elements, for the failure message
    column_of: int | None = None  # a column title (thead th): which table it heads


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]


class PageText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Node] = []
        self.texts: list[Text] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") in ("submit", "button"):
            self._add(values.get("value", ""), chrome=True, where="input[type=submit]")
        if tag in VOID:
            return
        if tag == "table":
            self.tables += 1
            values["_table"] = str(self.tables)
        self.stack.append(_Node(tag, values))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if any(node.tag in HIDDEN for node in self.stack):
            return
        # an icon's name (material-symbols-outlined) is drawn as its glyph, not read
        if any("display:none" in node.attrs.get("style", "").replace(" ", "")
               or "hidden" in node.attrs or "visually-hidden" in node.attrs.get("class", "")
               or "material-symbols-outlined" in node.attrs.get("class", "").split()
               for node in self.stack):
            return
        self._add(data, chrome=self._is_chrome(), where=self._where(),
                  column_of=self._column_of())

    def _add(self, raw: str, *, chrome: bool, where: str, column_of: int | None = None) -> None:
        text = SPACE.sub(" ", raw).strip()
        if text:
            self.texts.append(Text(text, chrome, where, column_of))

    def _column_of(self) -> int | None:
        tags = [node.tag for node in self.stack]
        if "th" not in tags or "thead" not in tags or "table" not in tags:
            return None
        table = next(node for node in reversed(self.stack) if node.tag == "table")
        return int(table.attrs["_table"])

    def _is_chrome(self) -> bool:
        tags = [node.tag for node in self.stack]
        for i, node in enumerate(self.stack):
            classes = node.attrs.get("class", "").split()
            if node.tag == "th":
                # a list's first column is a <th> per row holding the object's link (data)
                in_body = "tbody" in tags[:i]
                if not (in_body and any(c.startswith("field-") for c in classes)):
                    return True
            elif node.tag in CHROME or (node.tag == "a" and {"button", "addlink",
                                                               "historylink"} & set(classes)):
                return True
        return False

    def _where(self) -> str:
        parts = []
        for node in self.stack[-4:]:
            cls = node.attrs.get("class", "").split()
            parts.append(node.tag + ("." + ".".join(cls[:2]) if cls else ""))
        return " > ".join(parts)


def page_texts(html: str) -> list[Text]:
    parser = PageText()
    parser.feed(html)
    parser.close()
    return parser.texts
