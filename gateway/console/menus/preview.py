"""Every page of every screen in every language, as the phone would show it.

Two renderings per screen and language: the worst case the linter measures
(`menus.lint.worst_case_pages`: every placeholder at its declared maximum,
the longest error above the prompt, the back line) and a realistic one, with
sample values and sample list items, cut into pages as the engine does at
run time.
"""
from __future__ import annotations

from dataclasses import dataclass

from menus import gsm7, texts
from menus.lint import Capabilities, worst_case_pages
from menus.model import Menu, Screen, compile_menu
from menus.render import paginate

SAMPLE_VALUES = {
    "name": "Jean Bosco", "phone": "+250788123456", "network": "63510",
    "product_label": "Parchment coffee", "product_unit": "kg", "product_ref": 1800,
    "grade_label": "A", "quantity": 50, "price": 1750, "total": 87500,
    "listing_code": "482113", "listing_label": "Parchment coffee A 50kg", "listing_unit": "kg",
    "listing_quantity": 50, "listing_price": 1750, "new_quantity": 40, "new_price": 1800,
    "offer_label": "Green tea leaf 200kg", "offer_price": 320, "offer_quantity": 200,
    "offer_unit": "kg", "offer_district": "Nyamagabe", "buy_quantity": 100, "order_total": 32000,
    "order_code": "731904", "order_label": "Green tea leaf 100kg", "order_quantity": 100,
    "order_unit": "kg", "dial_order": "731904",
}
SAMPLE_ITEMS = {
    "districts": ["Gasabo", "Kicukiro", "Nyarugenge", "Bugesera", "Gatsibo", "Kayonza", "Kirehe",
                  "Ngoma", "Nyagatare", "Rwamagana"],
    "products": ["Coffee cherry", "Parchment coffee", "Green tea leaf", "Basket"],
    "grades": ["A", "AA", "AB", "PB"],
    "my_listings": ["482113 Parchment coffee 50kg", "519027 Basket 12pc"],
    "offers": ["1,750 RWF 50kg Huye", "1,800 RWF 120kg Nyamasheke", "1,900 RWF 30kg Rusizi"],
    "orders_to_answer": ["731904 Green tea leaf 100kg"],
}
_BY_FORMAT = {"int": 50, "money": 18000, "text": "Sample"}


@dataclass(frozen=True)
class PageView:
    number: int
    text: str
    length: int
    limit: int

    @property
    def over(self) -> bool:
        return self.length > self.limit

    @property
    def non_gsm7(self) -> bool:
        return gsm7.first_non_gsm7(self.text) is not None


def sample_values(menu: Menu) -> dict:
    values = {}
    for name, spec in menu.placeholders.items():
        values[name] = SAMPLE_VALUES.get(name, _BY_FORMAT.get(spec.format, "Sample"))
    return values


def _sample_pages(menu: Menu, screen: Screen, lang: str, values: dict) -> list:
    def fill(text: dict) -> str:
        template = text.get(lang) or text.get("*") or text.get(menu.languages[0], "")
        return texts.fill(template, values, menu.placeholders)

    if screen.type == "menu":
        labels = [fill(o.label) for o in screen.options]
    elif screen.type == "confirm":
        labels = [fill(menu.strings.get(k, {})) for k in ("yes", "no")]
    elif screen.type == "list":
        labels = [texts.format_value(x, "text") for x in SAMPLE_ITEMS.get(screen.source or "", ["Item 1", "Item 2"])]
    else:
        labels = []
    more = f"{menu.keys['more']}. {fill(menu.strings.get('more', {}))}"
    back = f"{menu.keys['back']}. {fill(menu.strings.get('back', {}))}" if screen.back else None
    # The room the engine keeps on every page for an error line, so the
    # sample pages are cut as the phone's are.
    reserve = max((gsm7.length(fill(menu.strings.get(k, {}))) + 1 for k in screen.error_keys()), default=0)
    return paginate(fill(screen.text), labels, limit=menu.limit, more=more, back=back,
                    max_options=menu.max_options, reserve=reserve)


def _views(pages, limit: int) -> list[PageView]:
    return [PageView(i, p.text, gsm7.length(p.text), limit) for i, p in enumerate(pages, 1)]


def preview(definition: dict, caps: Capabilities | None = None, *, screens: list[str] | None = None,
            languages: list[str] | None = None) -> tuple[Menu | None, list[dict]]:
    """(menu, [{id, type, languages: [{lang, worst: [PageView], sample: [PageView]}]}]).
    The menu is None when the definition does not compile at all."""
    menu, _ = compile_menu(definition)
    if menu is None:
        return None, []
    values = sample_values(menu)
    out = []
    for sid, screen in menu.screens.items():
        if screen.type == "action" or (screens and sid not in screens):
            continue
        per_lang = []
        for lang in menu.languages:
            if languages and lang not in languages:
                continue
            try:
                worst = _views(worst_case_pages(menu, screen, lang, caps), menu.limit)
                sample = _views(_sample_pages(menu, screen, lang, values), menu.limit)
            except (KeyError, ValueError, TypeError) as exc:  # a draft broken mid-edit
                per_lang.append({"lang": lang, "worst": [], "sample": [], "error": str(exc)})
                continue
            per_lang.append({"lang": lang, "worst": worst, "sample": sample, "error": None})
        out.append({"id": sid, "type": screen.type, "languages": per_lang})
    return menu, out
