"""The product pages: viewers read, editors edit (audited, with price
history), every change checked by the catalogue's rules; both SQL backends."""
from __future__ import annotations

from sqlalchemy import select

from gateway.market import catalogue
from gateway.operators.models import AuditEntry

URL = "/admin/market/products/coffee_cherry"
XSS = '<script>alert("x")</script>'


def fields(**changes) -> dict:
    base = {"name_rw": "Ikawa y'amakerezi", "name_en": "Coffee cherry", "name_fr": "Café cerise",
            "unit": "kg", "reference_price": "700", "active": "yes", "grades": ""}
    return {**base, **changes}


def audit_rows(gw) -> list[tuple]:
    with gw.db.session() as s:
        return [(a.action, a.username, a.target, a.detail) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.action.like("catalogue%")).order_by(AuditEntry.id))]


def test_the_catalogue_links_every_product_page(viewer):
    page = viewer.get("/admin/market").get_data(as_text=True)
    assert f'href="{URL}"' in page


def test_a_viewer_reads_but_cannot_edit(viewer, gw):
    page = viewer.get(URL).get_data(as_text=True)
    assert 'id="product"' in page and 'id="product-form"' not in page
    assert "700 RWF/kg" in page and 'id="price-history"' in page
    assert viewer.post(URL, fields(reference_price="900")).status_code == 403
    with gw.db.session() as s:
        assert catalogue.by_code(s, "coffee_cherry").reference_price == 700
    assert viewer.get("/admin/market/products/nothing").status_code == 404


def test_an_editor_changes_a_product_audited_with_history(editor, gw):
    page = editor.get(URL).get_data(as_text=True)
    assert 'id="product-form"' in page and 'value="700"' in page
    response = editor.post(URL, fields(reference_price="750", name_fr="Cerise de café",
                                       grades="A | Icyiciro A | Grade A | Classe A"))
    assert response.status_code == 302 and response.headers["Location"].endswith(URL)
    with gw.db.session() as s:
        product = catalogue.by_code(s, "coffee_cherry")
        assert (product.reference_price, product.name_fr, product.grade_codes()) == (750, "Cerise de café", ["A"])
        assert [(h.old_price, h.new_price, h.changed_by) for h in catalogue.history(s, product.id)] == [
            (700, 750, "eddie")]
    assert audit_rows(gw) == [
        ("catalogue_edit", "eddie", "coffee_cherry", "coffee_cherry name_fr 'Café cerise' -> 'Cerise de café'"),
        ("catalogue_price", "eddie", "coffee_cherry", "coffee_cherry reference_price 700 -> 750"),
        ("catalogue_edit", "eddie", "coffee_cherry", "coffee_cherry grades [] -> [A]"),
    ]
    page = editor.get(URL).get_data(as_text=True)
    assert "3 change(s) saved." in page
    history = page.split('id="price-history"')[1]
    assert "eddie" in history and "700" in history and "750" in history
    # A partial form changes only what it sends.
    assert editor.post(URL, {"active": "no"}).status_code == 302
    with gw.db.session() as s:
        product = catalogue.by_code(s, "coffee_cherry")
        assert (product.active, product.reference_price, product.name_en) == (False, 750, "Coffee cherry")


def test_a_refused_edit_saves_nothing_and_says_why(editor, gw):
    with gw.db.session() as s:
        start = catalogue.version(s)
    response = editor.post(URL, fields(reference_price="-1", name_en=XSS, unit="litre", grades="A | only two"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was saved" in page and XSS not in page and "&lt;script&gt;" in page
    for problem in ("name_en: 27 characters, at most 20", "unit: &#39;litre&#39; is not one of kg, piece",
                    "reference_price: must be between 1", "grades[1]: a grade has exactly"):
        assert problem in page, page
    with gw.db.session() as s:
        assert catalogue.by_code(s, "coffee_cherry").reference_price == 700
        assert catalogue.version(s) == start
    assert audit_rows(gw) == []


def test_an_edit_needs_the_csrf_token(editor, gw):
    assert editor.post(URL, fields(reference_price="900"), csrf=False).status_code == 400
    with gw.db.session() as s:
        assert catalogue.by_code(s, "coffee_cherry").reference_price == 700
