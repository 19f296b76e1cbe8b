"""The product type: the head noun phrase of a title ("bottle opener", not "bottle")."""

from __future__ import annotations

from tuijian.nlp.product.reader import (
    _ACCESSORY_QUALIFIER,
    _ADJECTIVE_ENDINGS,
    _NOT_HEAD,
    _PACK_NOUN,
    Fact,
    _is_number,
    _lexicon,
    _Reader,
)


def _head_candidates(r: _Reader, lo: int, hi: int) -> list[tuple[int, int, str, bool]]:
    """``(start, end, value, strong)`` for every product noun phrase in tokens ``[lo, hi)``, longest per end."""
    lex = _lexicon()
    idx = [i for i in r.words(lo, hi) if not r.claimed[i]]
    shouting = r.text.upper() == r.text
    found = []
    for j in range(len(idx)):
        for n in range(min(lex.max_len, j + 1), 0, -1):
            span = idx[j - n + 1 : j + 1]
            phrase = " ".join(r.norm(i) for i in span)
            if phrase in lex.phrases:
                found.append((span[0], span[-1] + 1, lex.phrases[phrase], True))
                break
            if n == 1 and (phrase in lex.heads or phrase in lex.weak) and not _feature_use(r, idx, j):
                found.append((span[0], span[-1] + 1, lex.plural_out.get(phrase, phrase), phrase in lex.heads))
            elif (
                n == 1
                and shouting
                and len(phrase) >= 8
                and phrase.isalpha()
                and not phrase.endswith(_ADJECTIVE_ENDINGS)
            ):
                # "CHOCOLATECANDLE": a compound written as one word ends in its head.
                for k in range(len(phrase) - 4, 3, -1):
                    if phrase[k:] in lex.heads:
                        found.append((span[0], span[-1] + 1, phrase[k:], True))
                        break
    return found


def _unknown_last_noun(r: _Reader, lo: int, cut: int, after: int) -> int | None:
    """In a mixed-case title the last word of the head part is the head noun even when the lexicon lacks it
    ("3M Adjustable Monitor Arm", "Elmer's Rubber Cement"); model codes, adjectives and known words are not."""
    if r.text.upper() == r.text:
        return None
    words = [w for w in r.words(lo, cut) if w >= after]
    if len(words) != 1:  # only the word right after the known head: "Monitor Arm", not "Printer Hp Lex Dell"
        return None
    i = words[0]
    tok = r.toks[i]
    lex = _lexicon()
    known = tok.norm in lex.heads or tok.norm in lex.weak or tok.norm in lex.phrases
    described = any(tok.norm in table for table in lex.terms.values())
    if (
        r.claimed[i]
        or known
        or described
        or not tok.low.isalpha()
        or len(tok.low) < 3
        or tok.low in _NOT_HEAD
        or tok.low.endswith(_ADJECTIVE_ENDINGS)
        or (i > 0 and r.toks[i - 1].end == tok.start)
    ):
        return None
    return i


def _feature_use(r: _Reader, idx: list[int], j: int) -> bool:
    """ "BATTERY OPERATED", "Battery-Powered": the noun describes a feature, not the product."""
    return j + 1 < len(idx) and r.toks[idx[j + 1]].low in (
        "operated",
        "powered",
        "shaped",
        "style",
        "compatible",
    )


def _counted(r: _Reader, pool: list[tuple[int, int, str, bool]]) -> tuple[int, int, str, bool] | None:
    """ "SET 10 CARDS FILIGREE BAUBLE": the plural noun right after a pack phrase is what the item is."""
    for c in pool:
        before = r.words(0, c[0])[-3:]
        low = [r.toks[i].low for i in before]
        plural = r.toks[c[1] - 1].low != r.toks[c[1] - 1].norm
        if (
            plural
            and len(low) >= 2
            and _is_number(r.toks[before[-1]])
            and (low[-2] in _PACK_NOUN or (low[-2] == "of" and len(low) == 3 and low[0] in _PACK_NOUN))
        ):
            return c
    return None


def _with_modifier(
    r: _Reader, start: int, end: int, value: str, pool: list[tuple[int, int, str, bool]]
) -> tuple[int, str]:
    """ "UMBRELLA STAND", "SEWING KIT": a product noun right before a one-word head makes a compound; so does a
    known compound right before it ("RECIPE BOOK BOX" -> "recipe book box", "T-LIGHT CANDLES" -> "t-light candle")."""
    lex = _lexicon()
    p = start - 1
    if (
        " " in value
        or p < 0
        or r.claimed[p]
        or not r.toks[p].low.isalpha()
        or r.toks[p].end == r.toks[start].start
    ):
        return start, value
    shouting = r.text.upper() == r.text
    for c in pool:
        if shouting and c[1] == start and c[0] < p and c[2] != value and r.toks[p].low == r.toks[p].norm:
            return c[0], f"{c[2]} {value}"
    modifier = r.toks[p].norm
    singular = r.toks[p].low == modifier  # noun modifiers are singular: "FIGURES TINS" is not a "figure tin"
    if singular and modifier in lex.modifiers and modifier != value:
        return p, f"{modifier} {value}"
    return start, value


def _pack_phrase(r: _Reader, c: tuple[int, int, str, bool]) -> bool:
    """ "Box of 30", "PACK OF 12": a pack noun followed by "of <number>" says how the item is sold, not what it is."""
    words = r.words(c[1])
    return (
        c[1] - c[0] == 1
        and r.toks[c[0]].norm in _PACK_NOUN
        and len(words) >= 2
        and r.toks[words[0]].low == "of"
        and _is_number(r.toks[words[1]])
    )


# "Dispenser and Refill": after "and" in a mixed-case title these name what comes with the product.
_ACCESSORY_HEADS = frozenset(
    {"refill", "charger", "cable", "case", "cover", "stand", "handset", "paper", "ink"}
)


def _listed_last(r: _Reader, segments: list[tuple[int, int, int]]) -> int | None:
    """ "Cross-Cut Paper, CD, and Credit Card Shredder": a comma list of uses ends in the segment that starts
    with "and"/"or" and holds the head; the index of that segment, when the items before it are short."""
    for k in range(1, len(segments)):
        lo, _, hi = segments[k]
        words = r.words(lo, hi)
        if not words or r.norm(words[0]) not in ("and", "or"):
            continue
        between = segments[1:k]
        # "Printer, Scanner, and Copier" lists what the product does: the listed items are products themselves
        if all(len(r.words(a, b)) <= 3 and not _head_candidates(r, a, b) for a, _, b in between):
            return k
        return None
    return None


def _product_type(r: _Reader, accessories: bool = True) -> Fact | None:
    """The head noun phrase of the title; ``accessories=False``: not from a "with ..." phrase alone (the caller
    tries the category first: "PG-240XL/CL-241XL with ... Photo Paper" is ink, not photo paper)."""
    segments = r.segments()
    per_segment = [
        [c for c in _head_candidates(r, lo, cut) if not _pack_phrase(r, c)] for lo, cut, _ in segments
    ]
    if not any(c[3] for cands in per_segment for c in cands):
        # "BA II Plus Professional Financial Calculator": the qualifier was not one; "BIC For Her ... Ball Pen,
        # ..., Assorted-Fashion Ink": a product noun after it beats a motif or weak noun in a later part
        tails = []
        for _, cut, hi in segments:
            qualifier = r.toks[cut].low if cut < hi else ""
            tails.append(
                []
                if not accessories and qualifier in _ACCESSORY_QUALIFIER
                else [c for c in _head_candidates(r, cut, hi) if not _pack_phrase(r, c)]
            )
        strong_tail = r.mixed_case and any(c[3] for cands in tails for c in cands)  # "HEART WITH BELL": heart
        if any(tails) and (not any(per_segment) or strong_tail):
            per_segment = tails
    if not any(per_segment):
        per_segment = [_head_candidates(r, lo, hi) for lo, _, hi in segments] if accessories else []
    listed = _listed_last(r, segments)
    from_list = listed is not None and any(c[3] for c in per_segment[listed])
    if listed is not None and from_list:
        per_segment = [per_segment[listed], *per_segment]
    chosen = None
    for cands in per_segment:
        strong = [c for c in cands if c[3]]
        if strong:
            chosen, pool = strong[-1], strong
            break
    if chosen is None:
        for cands in per_segment:
            if cands:
                chosen, pool = cands[-1], cands
                break
    if chosen is None:
        return _named_set(r)
    chosen = _counted(r, pool) or chosen
    compounds = [c for c in pool if " " in c[2] and c[1] <= chosen[0]]
    shouting = r.text.upper() == r.text  # Online Retail style: descriptors trail the head
    if (
        shouting and " " not in chosen[2] and compounds
    ):  # "STORAGE TIN VINTAGE DOILY": a compound beats a later noun
        chosen = compounds[-1]
    segment = next(((lo, cut) for lo, cut, _ in segments if lo <= chosen[0] < cut), None)
    last = None if segment is None else _unknown_last_noun(r, segment[0], segment[1], chosen[1])
    if last is not None:
        chosen = (last, last + 1, r.toks[last].norm, True)
    start, end, value, _ = chosen
    if not from_list:  # in "Paper, CD, and Credit Card Shredder" the words before the head are uses too
        start, value = _with_modifier(r, start, end, value, pool)
    # "CUP & SAUCER", "NECKLACE+BRACELET", "DESK AND CHAIR": two heads joined by "and" name one product.
    words = r.words(0, start)
    if len(words) >= 2 and r.norm(words[-1]) == "and":
        for c in pool:
            if c[1] == words[-2] + 1 and c[3]:
                if shouting:
                    start, value = c[0], f"{c[2]} and {value}"
                elif value.split()[-1] in _ACCESSORY_HEADS:  # "Dispenser and Refill": the dispenser
                    start, end, value = c[0], c[1], c[2]
                    start, value = _with_modifier(r, start, end, value, pool)
                elif " " not in value:  # "Wireless Remote and Laser Pointer": the compound names it
                    start, value = c[0], f"{c[2]} and {value}"
    return r.fact(value, start, end)


def _named_set(r: _Reader) -> Fact | None:
    """ "KENSINGTON COFFEE SET": with no product noun, "<word> set" names the product."""
    words = [i for i in r.words() if not r.claimed[i]]
    for k in range(len(words) - 1, 0, -1):
        prev = r.toks[words[k - 1]]
        if r.toks[words[k]].norm == "set" and prev.low.isalpha() and words[k - 1] + 1 == words[k]:
            return r.fact(f"{prev.norm} set", words[k - 1], words[k] + 1)
    return None
