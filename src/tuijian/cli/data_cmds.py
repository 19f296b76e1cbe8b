"""Data commands: ingest, quality, datasets."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
