"""Read stage: what the site, the API, the feeds and the CLI show — lists, one article, search
and statistics — read from the store's tables, never written."""
