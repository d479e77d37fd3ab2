"""The forms of an HTML page as a browser would post them, read from the page: inputs with
their values (checked boxes only), selected options, textareas, and each select's options.
Tests fill in what they change and post the rest as the page had it (the management forms
of inlines included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    id: str
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self._select: str | None = None
        self._select_chosen = False
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form = Form(a.get("id") or "", (a.get("method") or "get").lower(),
                             a.get("action") or "")
            self.forms.append(self.form)
            return
        form = self.form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            form.kinds.setdefault(name, kind)
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind == "file":
                form.files.add(name)
                return
            if kind in ("checkbox", "radio"):
                form.fields.setdefault(name, [])
                form.options.setdefault(name, []).append(a.get("value") or "on")
                if "checked" in a:
                    form.fields[name].append(a.get("value") or "on")
                return
            form.fields.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select, self._select_chosen = name, False
            form.kinds.setdefault(name, "select-multiple" if "multiple" in a else "select")
            form.fields.setdefault(name, [])
            form.options.setdefault(name, [])
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            form.options[self._select].append(value)
            if "selected" in a:
                form.fields[self._select].append(value)
                self._select_chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
            form.kinds.setdefault(name, "textarea")

    def handle_endtag(self, tag):
        form = self.form
        if tag == "form":
            self.form = None
        elif form is None:
            return
        elif tag == "select" and self._select:
            name = self._select
            if (not self._select_chosen and form.kinds[name] == "select"
                    and form.options[name]):
                form.fields[name].append(form.options[name][0])  # what a browser sends
            self._select = None
        elif tag == "textarea" and self._textarea:
            form.fields.setdefault(self._textarea, []).append("".join(self._text).lstrip("\n"))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def read_forms(html: str) -> list[Form]:
    reader = _FormReader()
    reader.feed(html)
    return reader.forms


def form_data(html: str, form_id: str | None = None, **changes) -> dict[str, list[str] | str]:
    """The named form's (or the first form's) values as the page has them, with `changes`."""
    forms = [f for f in read_forms(html) if form_id is None or f.id == form_id]
    data: dict[str, list[str] | str] = {name: values for name, values in forms[0].fields.items()
                                        if values}
    data.update(changes)
    return data
