"""The catalogue's file formats, both ways: `export` writes what `parse`
reads, so an export edited and imported changes only what was edited.

YAML (the default) is the shape of the shipped `gateway/data/catalogue.yaml`:
a mapping with a `products` list, each product with the fields of
`catalogue.FIELDS`. CSV has one product per line under a header of those
fields; `active` is yes/no and the `grades` cell holds the grades separated
by ";", each as `code|name_rw|name_en|name_fr`.
"""
from __future__ import annotations

import csv
import io
from typing import Any

import yaml

from gateway.market.catalogue import (
    FIELDS,
    GRADE_FIELDS,
    REQUIRED_COLUMNS,
    CatalogueInvalid,
    Problem,
    as_dict,
)
from gateway.market.models import Product

FORMATS = ("yaml", "csv")


def format_of(path: str) -> str:
    """The format a file name says (".csv", else YAML)."""
    return "csv" if path.lower().endswith(".csv") else "yaml"


def parse(text: str, fmt: str) -> tuple[list[Any], int]:
    """The products of a file as raw rows, and the number of the first row
    (a YAML file counts its products from 1; a CSV file its lines, header
    being 1). CatalogueInvalid when the file itself is unreadable."""
    return _parse_csv(text) if fmt == "csv" else _parse_yaml(text)


def _parse_yaml(text: str) -> tuple[list[Any], int]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise CatalogueInvalid([Problem(None, where, f"not YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise CatalogueInvalid([Problem(None, "(file)", "expected a mapping with a 'products' list")])
    return data["products"], 1


def _parse_csv(text: str) -> tuple[list[Any], int]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    missing = [f for f in REQUIRED_COLUMNS if f not in header]
    if missing:
        raise CatalogueInvalid([Problem(1, "(header)", f"missing column {', '.join(missing)}")])
    rows = []
    for line in reader:
        if None in line:  # more cells than columns
            line["(extra cells)"] = line.pop(None)
        line = {k: (v.strip() if isinstance(v, str) else v) for k, v in line.items() if v not in (None, "")
                or k in FIELDS}
        line["grades"] = _grades_cell(line.get("grades") or "")
        rows.append(line)
    return rows, 2


def _grades_cell(cell: str) -> list[Any]:
    grades = []
    for part in (p.strip() for p in cell.split(";")):
        if part:
            values = [v.strip() for v in part.split("|")]
            grades.append(dict(zip(GRADE_FIELDS, values)) if len(values) == len(GRADE_FIELDS) else part)
    return grades


def export(products: list[Product], fmt: str = "yaml") -> str:
    """The products as a file `parse` reads back."""
    items = [as_dict(p) for p in products]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
        writer.writeheader()
        for item in items:
            writer.writerow(dict(item, active="yes" if item["active"] else "no",
                                 grades=";".join("|".join(g[k] for k in GRADE_FIELDS) for g in item["grades"])))
        return out.getvalue()
    return yaml.safe_dump({"products": items}, sort_keys=False, allow_unicode=True, width=120)
