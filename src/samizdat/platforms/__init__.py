"""Platforms stage: one module per platform parses an article page or classifies a notice."""

from samizdat.platforms.base import Article, Media, Platform, Unavailable, UnavailableReason
from samizdat.platforms.registry import Registry

__all__ = ["Article", "Media", "Platform", "Registry", "Unavailable", "UnavailableReason"]
