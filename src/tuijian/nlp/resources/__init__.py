"""Curated lexicons and stopword lists (data files, read with importlib.resources)."""
