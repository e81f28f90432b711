"""samizdat: a deletion-watch archive."""

__version__ = "0.1.0"
