"""Pick the platform for a page: by host alias first, then by the page's own markup, then generic.

Platforms are listed in order; each says "mine" for a host or a page. Adding one is a new
module exposing ``PLATFORM`` and a line in :data:`BUILTIN`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

from samizdat.config import PlatformSettings
from samizdat.platforms.base import Article, Platform, Unavailable, split_url
from samizdat.platforms.fingerprint import page_fingerprint

BUILTIN = ("samizdat.platforms.wechat",)
GENERIC = "samizdat.platforms.generic"


class Registry:
    def __init__(
        self,
        settings: Mapping[str, PlatformSettings] | None = None,
        modules: Sequence[str] = BUILTIN,
    ) -> None:
        self.platforms: list[Platform] = [importlib.import_module(m).PLATFORM for m in modules]
        self.generic: Platform = importlib.import_module(GENERIC).PLATFORM
        self._by_name = {p.name: p for p in (*self.platforms, self.generic)}
        settings = settings or {}
        self._hosts: dict[str, Platform] = {}
        for platform in self.platforms:
            configured = settings.get(platform.name)
            hosts = configured.hosts if configured and configured.hosts else platform.default_hosts
            for host in hosts:
                self._hosts[host.lower()] = platform

    def platform(self, name: str) -> Platform:
        """The platform called ``name``; a clear error naming the known ones otherwise."""
        if name not in self._by_name:
            raise KeyError(f"no platform {name!r}; known: {', '.join(sorted(self._by_name))}")
        return self._by_name[name]

    def for_url(self, url: str) -> Platform | None:
        """The platform whose host aliases include ``url``'s host (with or without port)."""
        parts = split_url(url)
        if parts is None:
            return None
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.lower().rsplit("@", 1)[-1]
        return self._hosts.get(netloc) or self._hosts.get(host)

    def for_page(self, url: str | None, html: str) -> Platform:
        if url:
            platform = self.for_url(url)
            if platform is not None:
                return platform
        for platform in self.platforms:
            if platform.sniff(html):
                return platform
        return self.generic

    def parse(self, url: str | None, html: str) -> Article | Unavailable:
        platform = self.for_page(url, html)
        return platform.parse(url or "", html)

    def fingerprint(self, platform_name: str, page: bytes) -> str:
        """The digest of ``page`` (as received) without ``platform_name``'s per-request tokens."""
        return page_fingerprint(page, self._by_name[platform_name].volatile_tokens)
