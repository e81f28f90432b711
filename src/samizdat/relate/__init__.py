"""Relate stage: what ties articles together — copies of one text, related posts — as pure
algorithms over texts; where their results are kept is the store's (``store/copies.py``,
``store/related.py``)."""
