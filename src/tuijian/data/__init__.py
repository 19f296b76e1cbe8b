"""Events, catalog, interactions, dataset loaders, cleaning, quality reports and splits."""
