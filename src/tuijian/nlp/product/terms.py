"""Theme, colour, material, size and audience words of a title, with the cases that would state a false fact."""

from __future__ import annotations

from tuijian.nlp.product.reader import (
    _ADJECTIVE_ENDINGS,
    _NOT_HEAD,
    _NOT_THEME,
    _QUALIFIER,
    Fact,
    _is_number,
    _lexicon,
    _Reader,
)

_THEME_CUE = frozenset(
    {"design", "designs", "pattern", "print", "motif", "shape", "shaped", "theme", "themed"}
)
_FINISH = frozenset(
    {"finish", "look", "effect", "grain", "color", "colour", "colors", "colours", "style", "mate"}
)


def _not_a_term(r: _Reader, kind: str, span: list[int], nxt: str, tails: set[int]) -> bool:
    """Matches that would state a false fact: brands and model words in mixed-case (Amazon) titles ("Five Star",
    "3M", "Phone Plus", "PET" film), finishes ("Wood Finish", "Metallic", "Paper Mate") and materials of an
    accessory named after "with"/"for"."""
    mixed = r.text.upper() != r.text
    surface = " ".join(r.toks[i].low for i in span)
    if mixed and any(r.toks[i].text.isupper() and len(r.toks[i].text) <= 4 for i in span):
        return True  # acronyms: PET, CD
    if kind == "theme" and mixed and nxt not in _THEME_CUE:
        return True
    if kind == "size" and surface == "plus":
        return True
    if kind == "material" and mixed and surface == "paper":
        return (
            True  # "Paper Receipt", "Holds … Paper": in Amazon titles paper is what it holds, not what it is
        )
    return kind == "material" and (surface == "metallic" or nxt in _FINISH or span[0] in tails)


def _terms(r: _Reader, kind: str, out: list[Fact]) -> None:
    lex = _lexicon()
    table = lex.terms[kind]
    idx = r.words()
    tails = {i for _, cut, hi in r.segments() for i in range(cut, hi)}
    j = 0
    while j < len(idx):
        for n in range(min(lex.term_len, len(idx) - j), 0, -1):
            span = idx[j : j + n]
            if any(r.claimed[i] for i in span) or _glued_to_number(r, span[0]):
                continue
            value = table.get(" ".join(r.norm(i) for i in span))
            if value is None or value in _NOT_THEME:
                continue
            nxt = r.toks[span[-1] + 1].low if span[-1] + 1 < len(r.toks) else ""
            end = span[-1] + 1
            if _not_a_term(r, kind, span, nxt, tails):
                continue
            if kind == "size" and nxt in ("point", "tip", "line", "nib"):  # "Medium Point" is the pen's point
                value, end = f"{value} {nxt}", end + 1
            if value not in [f.value for f in out]:
                out.append(r.fact(value, span[0], end))
            else:
                r.fact(value, span[0], end)
            j += n - 1
            break
        j += 1


def _glued_to_number(r: _Reader, i: int) -> bool:
    """A word written onto a number ("240XL", "5C") is part of a model code."""
    return i > 0 and r.toks[i - 1].end == r.toks[i].start and _is_number(r.toks[i - 1])


def _design_theme(r: _Reader, out: list[Fact]) -> None:
    """ "FLOWER SHOP DESIGN MUG": the unclaimed words before "design" name the theme."""
    idx = r.words()
    for k, i in enumerate(idx):
        if r.toks[i].low != "design" or k == 0:
            continue
        span: list[int] = []
        for m in range(k - 1, -1, -1):
            tok = r.toks[idx[m]]
            adjacent = idx[m] + 1 == (span[0] if span else i)  # no comma or dash in between
            if r.claimed[idx[m]] or not tok.low.isalpha() or len(span) == 3 or not adjacent:
                break
            if tok.low in _QUALIFIER or tok.low in _NOT_HEAD or tok.low.endswith(_ADJECTIVE_ENDINGS):
                break
            span.insert(0, idx[m])
        if span:
            value = " ".join(r.toks[s].norm for s in span)
            if value not in ("asstd", "assorted", "new"):
                out.append(r.fact(value, span[0], span[-1] + 1))
