"""Loaders for the real public datasets, read exactly as they are laid out in ``shared/datasets``.

Every loader returns a :class:`Dataset`: an events frame in the schema of :mod:`tuijian.data.schema`
(``user, item, kind, value, ts, text, session``; string ids, UTC timestamps), plus an item catalog
(``item_id, title, description, brand, category, price`` and extra columns), a users frame, a reviews
frame or a cleaning report where the source has them.

Where a source has no timestamps (Amazon 5-core sequences, ML-1M without timestamps) ``ts`` is the
position in the sequence (seconds since the epoch) and ``meta["synthetic_ts"]`` is ``True``.
``category`` is a string: a path joined with ``" > "`` (root first), or for MovieLens the genres
joined with ``"|"``.
"""

from __future__ import annotations

import gzip
import html
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tuijian.data.schema import EVENT_COLUMNS, empty_events
from tuijian.exceptions import DataError, DatasetNotFoundError

#: Environment variable naming the dataset root.
DATA_DIR_ENV = "TUIJIAN_DATA_DIR"

#: Folder (inside the dataset root) and the files each shared dataset needs.
DATASET_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "online-retail": ("online_retail", ("online_retail.csv.gz",)),
    "amazon-beauty": (
        "amazon_beauty",
        ("Beauty.txt", "Beauty_user_sequence.txt", "Beauty_item2attributes.json"),
    ),
    "amazon-office": ("amazon_office", ("Office.item.json", "Office.inter.json")),
    "movielens-100k": ("movielens_100k", ("u.data", "u.item", "u.user")),
    "movielens-1m": ("movielens_1m", ("ratings_no_timestamp.dat.gz", "movies.dat", "users.dat")),
    "womens-clothing-reviews": ("womens_clothing_reviews", ("womens_clothing_ecommerce_reviews.csv.gz",)),
    "chinese-shopping-reviews": ("chinese_shopping_reviews", ("online_shopping_10_cats.csv.gz",)),
}

#: Small subsets shipped inside the package (no data directory needed).
DEMO_DATASETS: dict[str, str] = {
    "online-retail-demo": "online_retail_sample.csv.gz",
    "womens-clothing-demo": "womens_clothing_sample.csv.gz",
}

#: Every name :func:`load_dataset` accepts.
DATASET_NAMES: tuple[str, ...] = (*DATASET_FILES, *DEMO_DATASETS)

ITEM_COLUMNS: tuple[str, ...] = ("item_id", "title", "description", "brand", "category", "price")


@dataclass
class Dataset:
    """A loaded dataset. Frames that a source does not have are ``None``.

    ``event_attrs`` holds extra per-event columns that are not part of the events schema (for example
    the unit price and country of an Online Retail line); it shares the index of ``events``.
    """

    name: str
    events: pd.DataFrame
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    report: Any = None
    event_attrs: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return len(self.events)

    @property
    def n_users(self) -> int:
        return int(self.events["user"].nunique())

    @property
    def n_items(self) -> int:
        return int(self.events["item"].nunique())

    def summary(self) -> dict[str, Any]:
        """Counts of the frames, for printing."""
        return {
            "name": self.name,
            "events": self.n_events,
            "users": self.n_users,
            "items": self.n_items,
            "catalog_items": None if self.items is None else len(self.items),
            "reviews": None if self.reviews is None else len(self.reviews),
        }


# ----------------------------------------------------------------------------- locating data
def _repo_root() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Find the dataset root.

    Order: the ``data_dir`` argument, the ``TUIJIAN_DATA_DIR`` environment variable, ``../shared/datasets``
    relative to the working directory, then ``../shared/datasets`` relative to the repository holding this
    package. An explicit argument or env var that does not exist is an error (it is not skipped).
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DatasetNotFoundError(
                f"data_dir={str(data_dir)!r} is not a directory; pass the folder that holds "
                "online_retail/, amazon_beauty/, movielens_100k/ ... (for example ../shared/datasets)"
            )
        return path.resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DatasetNotFoundError(f"{DATA_DIR_ENV}={env!r} is not a directory; fix or unset it")
        return path.resolve()
    tried = [Path.cwd() / ".." / "shared" / "datasets"]
    root = _repo_root()
    if root is not None:
        tried.append(root.parent / "shared" / "datasets")
    for path in tried:
        if path.is_dir():
            return path.resolve()
    raise DatasetNotFoundError(
        "no dataset directory found; tried: argument data_dir (not given), "
        f"env {DATA_DIR_ENV} (not set), "
        + ", ".join(str(p) for p in tried)
        + ". Pass --data-dir / data_dir=... or set TUIJIAN_DATA_DIR"
    )


def dataset_path(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of a shared dataset, checked to hold all its files."""
    if name not in DATASET_FILES:
        raise DatasetNotFoundError(f"unknown dataset name {name!r}; expected one of {list(DATASET_NAMES)}")
    folder, files = DATASET_FILES[name]
    path = resolve_data_dir(data_dir) / folder
    missing = [f for f in files if not (path / f).is_file()]
    if missing:
        raise DatasetNotFoundError(f"dataset {name!r}: missing file(s) {missing} in {path}")
    return path


def dataset_available(name: str, data_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether :func:`load_dataset` can find ``name``'s files."""
    if name in DEMO_DATASETS:
        return demo_file(name).is_file()
    try:
        dataset_path(name, data_dir)
    except DatasetNotFoundError:
        return False
    return True


def demo_file(name: str) -> Path:
    """Path of an embedded demo file (``online-retail-demo`` or ``womens-clothing-demo``)."""
    return Path(str(resources.files("tuijian") / "demo_data" / DEMO_DATASETS[name]))


# ----------------------------------------------------------------------------- helpers
def _events(
    user: Any, item: Any, kind: str, value: Any, ts: Any, text: Any = None, session: Any = None
) -> pd.DataFrame:
    """Build an events frame from array-likes (indexes are ignored: everything is positional)."""
    stamps = pd.DatetimeIndex(ts)
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    n = len(stamps)
    df = pd.DataFrame(
        {
            "user": np.asarray(user).astype(str).astype(object),
            "item": np.asarray(item).astype(str).astype(object),
            "kind": np.full(n, kind, dtype=object),
            "value": np.ones(n) if value is None else np.asarray(value, dtype="float64"),
            "ts": stamps.astype("datetime64[ns, UTC]"),
            "text": np.full(n, None, dtype=object) if text is None else np.asarray(text, dtype=object),
            "session": np.full(n, None, dtype=object)
            if session is None
            else np.asarray(session, dtype=object),
        }
    )
    return df[list(EVENT_COLUMNS)]


def _positional_ts(positions: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(positions, dtype="int64"), unit="s", utc=True)


def _catalog(df: pd.DataFrame) -> pd.DataFrame:
    for col in ITEM_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan if col == "price" else ""
    df["item_id"] = df["item_id"].astype(str)
    df["price"] = df["price"].astype("float64")
    rest = [c for c in df.columns if c not in ITEM_COLUMNS]
    return df[[*ITEM_COLUMNS, *rest]].reset_index(drop=True)


def _sequences_to_events(seqs: list[tuple[str, list[str]]], kind: str) -> pd.DataFrame:
    users = np.repeat([u for u, _ in seqs], [len(s) for _, s in seqs])
    items = np.concatenate([np.asarray(s, dtype=object) for _, s in seqs]) if seqs else np.array([])
    pos = np.concatenate([np.arange(len(s)) for _, s in seqs]) if seqs else np.array([], dtype=int)
    return _events(users, items, kind, None, _positional_ts(pos))


# ----------------------------------------------------------------------------- Amazon
def _load_amazon_beauty(data_dir: Any) -> Dataset:
    path = dataset_path("amazon-beauty", data_dir)
    seqs = [(p[0], p[1:]) for p in (ln.split() for ln in (path / "Beauty.txt").read_text().splitlines()) if p]
    real = [
        p for p in (ln.split() for ln in (path / "Beauty_user_sequence.txt").read_text().splitlines()) if p
    ]
    if len(real) != len(seqs) or any(len(r) - 1 != len(s) for r, (_, s) in zip(real, seqs, strict=True)):
        raise DataError(f"{path}: Beauty.txt and Beauty_user_sequence.txt are not aligned line by line")
    asin: dict[str, str] = {}
    for (_, s), r in zip(seqs, real, strict=True):
        for idx, a in zip(s, r[1:], strict=True):
            if asin.setdefault(idx, a) != a:
                raise DataError(f"{path}: item {idx} maps to two ASINs ({asin[idx]}, {a})")
    attrs = {str(k): v for k, v in json.loads((path / "Beauty_item2attributes.json").read_text()).items()}
    ids = sorted(asin, key=int)
    items = pd.DataFrame({"item_id": ids, "asin": [asin[i] for i in ids]})
    items["attribute_ids"] = [list(attrs.get(i, [])) for i in ids]
    items["category"] = ["|".join(f"attr_{a}" for a in v) for v in items["attribute_ids"]]
    users = pd.DataFrame({"user_id": [u for u, _ in seqs], "reviewer_id": [r[0] for r in real]})
    return Dataset(
        "amazon-beauty",
        _sequences_to_events(seqs, "purchase"),
        items=_catalog(items),
        users=users,
        meta={"synthetic_ts": True, "source": str(path), "licence": "Amazon review data, research use"},
    )


def _load_amazon_office(data_dir: Any) -> Dataset:
    path = dataset_path("amazon-office", data_dir)
    inter = json.loads((path / "Office.inter.json").read_text())
    raw = json.loads((path / "Office.item.json").read_text())
    seqs = [(str(u), [str(i) for i in s]) for u, s in inter.items()]

    def un(text: str) -> str:  # some fields are escaped twice ("&amp;amp;")
        for _ in range(3):
            text, before = html.unescape(text), text
            if text == before:
                break
        return text

    items = pd.DataFrame(
        {
            "item_id": list(raw),
            "title": [un(v.get("title") or "") for v in raw.values()],
            "description": [un(v.get("description") or "") for v in raw.values()],
            "brand": [un(v.get("brand") or "") for v in raw.values()],
            "category": [
                " > ".join(c.strip() for c in un(v.get("categories") or "").split(", ") if c.strip())
                for v in raw.values()
            ],
        }
    )
    return Dataset(
        "amazon-office",
        _sequences_to_events(seqs, "purchase"),
        items=_catalog(items),
        meta={"synthetic_ts": True, "source": str(path), "licence": "Amazon review data, research use"},
    )


# ----------------------------------------------------------------------------- MovieLens
def _ml100k_ratings(file: Path) -> pd.DataFrame:
    df = pd.read_csv(file, sep="\t", header=None, names=["user", "item", "rating", "ts"], dtype="int64")
    return _events(
        df["user"], df["item"], "rating", df["rating"], pd.to_datetime(df["ts"], unit="s", utc=True)
    )


def _load_movielens_100k(data_dir: Any) -> Dataset:
    path = dataset_path("movielens-100k", data_dir)
    genres = [ln.split("|")[0] for ln in (path / "u.genre").read_text(encoding="latin-1").splitlines() if ln]
    cols = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genres]
    raw = pd.read_csv(path / "u.item", sep="|", header=None, names=cols, encoding="latin-1", dtype=str)
    flags = raw[genres].astype(int).to_numpy().astype(bool)
    items = raw[["item_id", "title", "release_date", "imdb_url"]].copy()
    items["category"] = ["|".join(g for g, f in zip(genres, row, strict=True) if f) for row in flags]
    items[["release_date", "imdb_url"]] = items[["release_date", "imdb_url"]].fillna("")
    users = pd.read_csv(
        path / "u.user",
        sep="|",
        header=None,
        dtype=str,
        names=["user_id", "age", "gender", "occupation", "zip_code"],
    )
    users["age"] = users["age"].astype(int)
    return Dataset(
        "movielens-100k",
        _ml100k_ratings(path / "u.data"),
        items=_catalog(items),
        users=users,
        meta={"synthetic_ts": False, "source": str(path), "licence": "GroupLens research terms"},
    )


def load_movielens_100k_folds(
    data_dir: str | os.PathLike[str] | None = None,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The official ML-100K five folds ``[(u1.base, u1.test), ..., (u5.base, u5.test)]`` as rating events."""
    path = dataset_path("movielens-100k", data_dir)
    folds = []
    for k in range(1, 6):
        base, test = path / f"u{k}.base", path / f"u{k}.test"
        if not (base.is_file() and test.is_file()):
            raise DatasetNotFoundError(
                f"movielens-100k: missing official fold file {base.name} or {test.name}"
            )
        folds.append((_ml100k_ratings(base), _ml100k_ratings(test)))
    return folds


def _load_movielens_1m(data_dir: Any) -> Dataset:
    path = dataset_path("movielens-1m", data_dir)
    # "user::movie::rating": splitting on ':' gives empty fields between the pairs (fast C parser)
    df = pd.read_csv(
        path / "ratings_no_timestamp.dat.gz",
        sep=":",
        header=None,
        usecols=[0, 2, 4],
        names=["user", "e1", "item", "e2", "rating"],
        dtype="int64",
    )
    events = _events(df["user"], df["item"], "rating", df["rating"], _positional_ts(np.arange(len(df))))
    rows = [ln.split("::") for ln in (path / "movies.dat").read_text(encoding="latin-1").splitlines() if ln]
    items = pd.DataFrame(
        {"item_id": [r[0] for r in rows], "title": [r[1] for r in rows], "category": [r[2] for r in rows]}
    )
    urows = [ln.split("::") for ln in (path / "users.dat").read_text(encoding="latin-1").splitlines() if ln]
    users = pd.DataFrame(urows, columns=["user_id", "gender", "age", "occupation", "zip_code"])
    return Dataset(
        "movielens-1m",
        events,
        items=_catalog(items),
        users=users,
        meta={
            "synthetic_ts": True,
            "source": str(path),
            "licence": "GroupLens research terms",
            "note": "no timestamps: ts is the row number; use random splits",
        },
    )


# ----------------------------------------------------------------------------- reviews
WOMENS_COLUMNS = {
    "Clothing ID": "item",
    "Age": "age",
    "Title": "title",
    "Review Text": "text",
    "Rating": "rating",
    "Recommended IND": "recommended",
    "Positive Feedback Count": "positive_feedback",
    "Division Name": "division",
    "Department Name": "department",
    "Class Name": "class",
}


def womens_reviews_dataset(file: Path, name: str) -> Dataset:
    """Women's Clothing Reviews (full file or the embedded sample) as reviews, items and review events.

    The reviewers have no ids, so each review event has its own anonymous user ``anon:review<row>``.
    """
    raw = pd.read_csv(file, dtype={"Clothing ID": str, "Title": str, "Review Text": str})
    missing = [c for c in WOMENS_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{file}: missing column(s) {missing}; got {list(raw.columns)}")
    reviews = raw[list(WOMENS_COLUMNS)].rename(columns=WOMENS_COLUMNS)
    for col in ("title", "text", "division", "department", "class"):
        reviews[col] = reviews[col].fillna("").astype(str)
    reviews["recommended"] = reviews["recommended"].astype(bool)
    cat = (reviews["department"] + " > " + reviews["class"]).str.strip(" >")
    from tuijian.data.cleaning import _most_common

    items = pd.DataFrame({"item_id": reviews["item"].unique()})
    for col, values in (("category", cat), ("division", reviews["division"])):
        items[col] = items["item_id"].map(_most_common(reviews["item"], values.replace("", None))).fillna("")
    text = (reviews["title"] + ". " + reviews["text"]).str.strip(". ").replace("", None)
    events = _events(
        "anon:review" + pd.Series(np.arange(len(reviews))).astype(str),
        reviews["item"],
        "review",
        reviews["rating"],
        _positional_ts(np.arange(len(reviews))),
        text=text,
    )
    return Dataset(
        name,
        events,
        items=_catalog(items),
        reviews=reviews,
        meta={"synthetic_ts": True, "source": str(file), "licence": "CC0"},
    )


def _load_womens(data_dir: Any) -> Dataset:
    path = dataset_path("womens-clothing-reviews", data_dir)
    return womens_reviews_dataset(
        path / DATASET_FILES["womens-clothing-reviews"][1][0], "womens-clothing-reviews"
    )


def _load_chinese(data_dir: Any) -> Dataset:
    path = dataset_path("chinese-shopping-reviews", data_dir)
    with gzip.open(path / "online_shopping_10_cats.csv.gz", "rt", encoding="utf-8-sig") as fh:
        reviews = pd.read_csv(fh, dtype={"cat": str, "review": str, "label": "int64"})
    reviews["review"] = reviews["review"].fillna("").str.replace("\ufeff", "", regex=False).str.strip()
    reviews["cat"] = reviews["cat"].str.replace("\ufeff", "", regex=False).str.strip()
    return Dataset(
        "chinese-shopping-reviews",
        empty_events(),
        reviews=reviews,
        meta={"synthetic_ts": True, "source": str(path), "licence": "research use, source unstated"},
    )


# ----------------------------------------------------------------------------- Online Retail
def _load_online_retail(data_dir: Any) -> Dataset:
    from tuijian.data.cleaning import online_retail_dataset, read_online_retail

    path = dataset_path("online-retail", data_dir)
    return online_retail_dataset(
        read_online_retail(path / "online_retail.csv.gz"), "online-retail", source=str(path)
    )


def _load_online_retail_demo(data_dir: Any) -> Dataset:
    from tuijian.data.cleaning import online_retail_dataset, read_online_retail

    file = demo_file("online-retail-demo")
    return online_retail_dataset(read_online_retail(file), "online-retail-demo", source=str(file))


def _load_womens_demo(data_dir: Any) -> Dataset:
    return womens_reviews_dataset(demo_file("womens-clothing-demo"), "womens-clothing-demo")


_LOADERS: dict[str, Callable[[Any], Dataset]] = {
    "online-retail": _load_online_retail,
    "online-retail-demo": _load_online_retail_demo,
    "amazon-beauty": _load_amazon_beauty,
    "amazon-office": _load_amazon_office,
    "movielens-100k": _load_movielens_100k,
    "movielens-1m": _load_movielens_1m,
    "womens-clothing-reviews": _load_womens,
    "womens-clothing-demo": _load_womens_demo,
    "chinese-shopping-reviews": _load_chinese,
}


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a dataset by name (see :data:`DATASET_NAMES`); the demo sets need no ``data_dir``."""
    if name not in _LOADERS:
        raise DatasetNotFoundError(f"unknown dataset name {name!r}; expected one of {list(DATASET_NAMES)}")
    return _LOADERS[name](data_dir)


# ----------------------------------------------------------------------------- a shop's own files
def file_dataset_name(path: str | os.PathLike[str]) -> str:
    """The name a shop's events file gets as a dataset: its file name without extensions (``orders``)."""
    name = Path(path).name
    stem = name.split(".")[0] or name
    return stem


def dataset_from_files(
    events: str | os.PathLike[str],
    mapping: dict[str, str] | None = None,
    *,
    kind: str | None = None,
    catalog: str | os.PathLike[str] | None = None,
    catalog_mapping: dict[str, str] | None = None,
    name: str | None = None,
    missing_user: str = "reject",
) -> Dataset:
    """A :class:`Dataset` from a shop's own events file (and optional catalog file).

    ``events`` is read by :func:`tuijian.data.importers.import_events` with ``mapping`` (``{"user":
    "shopper", "item": "sku", "ts": "order_time", "value": "qty", "kind": "=purchase"}``) or the
    constant ``kind``; ``catalog`` by :func:`tuijian.data.importers.import_catalog`. Malformed rows
    are not loaded; they are counted by reason in ``meta["import"]`` (``{"events": report,
    "catalog": report or None, "events_not_in_catalog": n}``), never dropped silently. Mapped extra
    columns (``price=unit_price``) become ``event_attrs``. The dataset is named after the file.
    """
    from tuijian.data.importers import import_catalog, import_events

    result = import_events(
        events,
        mapping,
        kind=kind,
        missing_user="anonymous" if missing_user == "anonymous" else "reject",
    )
    label = name or file_dataset_name(events)
    if len(result.events) == 0:
        raise DataError(
            f"{events}: no valid events to learn from ({result.report}); check the column mapping "
            "(--map user=COLUMN,item=COLUMN,ts=COLUMN,kind=COLUMN or kind==purchase)"
        )
    items = None
    catalog_report = None
    not_in_catalog = None
    if catalog is not None:
        items, rep = import_catalog(catalog, catalog_mapping)
        catalog_report = rep.to_dict()
        known = set(items["item_id"])
        ev_items = result.events["item"].dropna().astype(str)
        not_in_catalog = int((~ev_items.isin(known)).sum())
        items = _catalog(items)
    extras = result.extras if len(result.extras.columns) else None
    return Dataset(
        label,
        result.events,
        items=items,
        event_attrs=extras,
        meta={
            "synthetic_ts": False,
            "source": str(events),
            "catalog_source": None if catalog is None else str(catalog),
            "import": {
                "events": result.report.to_dict(),
                "catalog": catalog_report,
                "events_not_in_catalog": not_in_catalog,
            },
        },
    )
