"""Product understanding: a structured record per catalogue item, every field with its provenance.

A title is read the way a shop assistant reads it. The product type is the head noun phrase ("bottle opener", not
"bottle"; "shredder oil", not "shredder"), found as the right-most product noun of the title's head part (before
the first comma and before "with"/"for"/"in"), extended to the longest known compound that ends on it. Motif nouns
("heart", "owl") are the type only when nothing else is. Pack count ("Set of 6", "Pack of 12", "12 Pencils") is
told apart from capacity ("100 Sheets", "16 oz"), and "Letter Size" is a size, not a letter motif.

Every value keeps its :class:`Evidence`: the input field and the token span it came from.

>>> r = understand("BULL DOG BOTTLE OPENER")
>>> r.product_type.value, r.product_type.evidence.text, r.theme[0].value
('bottle opener', 'BOTTLE OPENER', 'dog')
>>> r = understand("Swingline Stack-and-Shred 100X Hands Free Shredder, Cross-Cut, 100 Sheets, 1-2 Users")
>>> r.product_type.value, r.capacity[0].value, r.pack_count
('shredder', '100 sheets', None)
"""

from __future__ import annotations

import html

from tuijian.exceptions import DataError
from tuijian.nlp.product.heads import _product_type
from tuijian.nlp.product.quantities import _capacity_and_size, _capacity_phrase_end, _pack_count
from tuijian.nlp.product.reader import _is_number, _Reader, _singular, _tokens
from tuijian.nlp.product.record import Evidence, Fact, ProductRecord, Source
from tuijian.nlp.product.terms import _design_theme, _terms
from tuijian.nlp.product.vocab import (
    _chinese_names,
    chinese_product_type,
    chinese_term,
    chinese_theme,
    name_product_type,
    theme_kind,
)

__all__ = [
    "Evidence",
    "Fact",
    "ProductRecord",
    "Source",
    "_chinese_names",
    "chinese_product_type",
    "chinese_term",
    "chinese_theme",
    "name_product_type",
    "theme_kind",
    "understand",
]


def understand(title: str, description: str | None = None, category: str | None = None) -> ProductRecord:
    """Read a catalogue item into a :class:`ProductRecord`.

    ``title`` is required (it may be empty when ``category`` says what the item is). ``category`` is used for the
    product type only when the title names none, and only a taxonomy path ("Office Products > ... > Laser
    Printers"): its deepest part that names a product wins. ``description`` gives a capacity the title lacks
    ("7-sheet capacity").
    """
    for name, value in (("title", title), ("description", description), ("category", category)):
        if value is not None and not isinstance(value, str):
            raise DataError(
                f"{name} must be a str or None, got {type(value).__name__}; pass the item's text field"
            )
    if title is None:
        raise DataError("title is required; pass '' when the item has no title")
    record = ProductRecord()
    r = _Reader(title, "title")
    _capacity_and_size(r, record)
    record.product_type = _product_type(r, accessories=not (category and ">" in category))
    if record.product_type is None and category and ">" in category:
        for part in reversed([p for p in category.split(">") if p.strip()]):
            c = _Reader(part.strip(), "category")
            fact = _product_type(c)
            if fact is not None:
                # The evidence indexes the tokens of the whole category string.
                offset = len(_tokens(html.unescape(category[: category.index(part)])))
                ev = fact.evidence
                record.product_type = Fact(
                    fact.value, Evidence("category", ev.start + offset, ev.end + offset, ev.text)
                )
                break
        if (
            record.product_type is None
        ):  # nothing in the category either: the "with ..." phrase is all there is
            record.product_type = _product_type(r)
    head = None
    if record.product_type is not None and record.product_type.evidence.source == "title":
        head = _singular(str(record.product_type.value).split()[-1])
    record.pack_count = _pack_count(r, head)
    _terms(r, "size", record.size)
    _terms(r, "theme", record.theme)  # before colour: "ICE CREAM DESIGN" is a theme, not a cream colour
    _terms(r, "colour", record.colour)
    _terms(r, "material", record.material)
    _terms(r, "audience", record.audience)
    _design_theme(r, record.theme)
    if description and not record.capacity:
        d = _Reader(description, "description")
        for k, tok in enumerate(d.toks):
            end = _capacity_phrase_end(d, k)
            if _is_number(tok) and end:
                record.capacity.append(d.fact(f"{tok.low} sheets", k, end))
                break
    return record
