"""All errors raised by Tuijian.

Hierarchy (the service maps these to HTTP statuses in one place,
``tuijian.service.errors``)::

    TuijianError
    ├── ConfigError              bad settings or arguments             -> 400 / CLI exit 2
    ├── DataError                input data is malformed               -> 422
    │   ├── SchemaError          a column/field is missing or mistyped
    │   └── DatasetNotFoundError a named dataset's files are missing   -> 404
    ├── UnknownIdError           a user/item id is not in the vocabulary -> 404
    ├── NotFittedError           a model was used before ``fit``       -> 503
    ├── ModelNotFoundError       no such model name / artifact         -> 404
    ├── AuthError                missing / bad credentials             -> 401
    │   └── PermissionDeniedError  valid key, wrong role               -> 403
    └── StorageError             the database failed                   -> 503
"""

from __future__ import annotations

from typing import Any


class TuijianError(Exception):
    """Base class of every error Tuijian raises on purpose."""


class ConfigError(TuijianError, ValueError):
    """A setting or argument is invalid. The message names it, what was expected and what was received."""


class DataError(TuijianError, ValueError):
    """Input data is malformed.

    ``errors`` optionally itemises what was wrong, one ``{"row", "field", "error"}`` dict per bad field or
    row; the service returns the list in the 422 body.
    """

    def __init__(self, *args: object, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(*args)
        self.errors: list[dict[str, Any]] = list(errors or [])


class SchemaError(DataError):
    """A required column or field is missing or has the wrong type."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A named dataset is unknown or its files are not where they should be."""


class UnknownIdError(TuijianError, KeyError):
    """An external user or item id is not known to the model or store."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown id"


class NotFittedError(TuijianError, RuntimeError):
    """A model was asked to predict before ``fit`` was called."""


class ModelNotFoundError(TuijianError, LookupError):
    """No model is registered under that name, or no artifact exists."""


class AuthError(TuijianError):
    """Missing or invalid credentials."""


class PermissionDeniedError(AuthError):
    """Credentials are valid but lack the required role."""


class StorageError(TuijianError):
    """The storage backend failed."""
