"""Sizes, capacities and pack counts: "100 Sheets" is a capacity, "Set of 6" a pack count."""

from __future__ import annotations

from tuijian.nlp.product.reader import (
    _CAPACITY_UNITS,
    _LENGTH_UNITS,
    _PACK_AFTER,
    _PACK_NOUN,
    _PAPER_SIZES,
    _SEGMENT_BREAK,
    Fact,
    _is_number,
    _number,
    _Reader,
    _Tok,
)
from tuijian.nlp.product.record import ProductRecord


def _quantity_end(toks: list[_Tok], i: int) -> int:
    """The end of the number at ``i``, taking in a fraction: "8", "1/2", "8 1/2", "1-3/4"."""

    def fraction_at(k: int) -> bool:
        return (
            k + 2 < len(toks)
            and _is_number(toks[k])
            and toks[k + 1].low == "/"
            and toks[k + 1].start == toks[k].end
            and _is_number(toks[k + 2])
        )

    if fraction_at(i):
        return i + 3
    if fraction_at(i + 1) or (i + 2 < len(toks) and toks[i + 1].low == "-" and fraction_at(i + 2)):
        return i + 4 if toks[i + 1].low != "-" else i + 5
    return i + 1


def _capacity_and_size(r: _Reader, record: ProductRecord) -> None:
    toks, i = r.toks, 0
    while i < len(toks):
        tok = toks[i]
        if not _is_number(tok):
            i += 1
            continue
        j = _quantity_end(toks, i)
        while True:  # 8.5 x 11, 12 x 10 x 15, 9.5" x 6.5", 2 in x 10 yd
            k = j + 1 if j < len(toks) and toks[j].low in _LENGTH_UNITS else j
            if k + 1 < len(toks) and toks[k].low in ("x", "by") and _is_number(toks[k + 1]):
                j = _quantity_end(toks, k + 1)
                continue
            break
        nxt = j + 1 if j < len(toks) and toks[j].low == "-" else j
        unit = toks[nxt].low if nxt < len(toks) else ""
        if unit in _CAPACITY_UNITS and j == _quantity_end(toks, i):
            record.capacity.append(r.fact(f"{tok.low} {_CAPACITY_UNITS[unit]}", i, nxt + 1))
            i = nxt + 1
        elif (
            unit in _LENGTH_UNITS
            and not (unit == "in" and j == i + 1 and nxt + 1 < len(toks))  # "2 in 1"
            and not (toks[nxt].text == "M" and r.text.upper() != r.text)  # the brand 3M
        ):
            end = nxt + 1
            if end < len(toks) and toks[end].low == "capacity":
                record.capacity.append(r.fact(r.text[tok.start : toks[end].end].lower(), i, end + 1))
                end += 1
            else:
                record.size.append(r.fact(r.text[tok.start : toks[nxt].end].lower(), i, end))
            i = end
        else:
            i = j
    words = r.words()
    for k, i in enumerate(words):
        if toks[i].low not in _PAPER_SIZES or r.claimed[i]:
            continue
        after = toks[words[k + 1]].low if k + 1 < len(words) else ""
        before = toks[words[k - 1]].low if k > 0 else ""
        seg_end = i + 1 >= len(toks) or toks[i + 1].low in _SEGMENT_BREAK
        if after == "size":
            record.size.append(r.fact(f"{toks[i].low} size", i, words[k + 1] + 1))
        elif after in _PAPER_SIZES or before in _PAPER_SIZES or (seg_end and k > 0 and "," in r.text):
            record.size.append(r.fact(f"{toks[i].low} size", i, i + 1))


def _pack_count(r: _Reader, head: str | None) -> Fact | None:
    toks, words = r.toks, r.words()
    hits: list[tuple[int, int, int]] = []  # (start, end, n)
    for k, i in enumerate(words):
        if r.claimed[i]:
            continue
        low = toks[i].low
        n = _number(toks[i])
        after = [words[m] for m in range(k + 1, min(k + 6, len(words)))]
        if low in _PACK_NOUN and after:
            # "set of 6", "pack/12", "S/12", "SET 3 WICKER BASKETS", "box of 60"
            m = after[0]
            if toks[m].low == "of" and len(after) > 1:
                m = after[1]
            count = _number(toks[m])
            broken = any(
                t.low in _SEGMENT_BREAK for t in toks[i + 1 : m]
            )  # "per Pack (3300-A)": a model code
            if count is not None and not r.claimed[m] and (low != "s" or m == i + 2) and not broken:
                hits.append((i, m + 1, count))
        elif low == "pair" and after and toks[after[0]].low == "of":
            hits.append((i, after[0] + 1, 2))
        elif n is not None and after and n > 0:
            first = toks[after[0]].low
            if first in _PACK_AFTER or (
                first == "per" and len(after) > 1 and toks[after[1]].low in ("pack", "box")
            ):
                end = after[1] + 1 if first == "per" else after[0] + 1
                hits.append((i, end, n))
            elif toks[i + 1 : i + 3] and toks[i + 1].low == "/" and toks[i + 2].low == "pack":
                hits.append((i, i + 3, n))
            elif (
                head is not None
                and (i == 0 or toks[i - 1].low in _SEGMENT_BREAK)
                and not (i + 1 < len(toks) and toks[i + 1].start == toks[i].end and toks[i + 1].low.isalpha())
            ):  # "3M Address Labels": a number glued to letters is a name, not a count
                for m in after[:4]:
                    tok = toks[m]
                    if _is_number(tok):
                        break
                    if tok.norm == head and tok.low != tok.norm:  # "12 Pens", "75 ... CAKE CASES"
                        hits.append((i, m + 1, n))
                        break
    if not hits:
        return None
    start, end, n = min(hits)
    return r.fact(n, start, end)


def _capacity_phrase_end(d: _Reader, k: int) -> int:
    """The end of ``N sheet capacity`` / ``N-sheet capacity`` starting at token ``k`` of a description, else 0."""
    j = k + 1
    if j < len(d.toks) and d.toks[j].low == "-":
        j += 1
    if j + 1 < len(d.toks) and d.toks[j].low in ("sheet", "sheets") and d.toks[j + 1].low == "capacity":
        return j + 2
    return 0
