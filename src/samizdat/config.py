"""Settings: defaults here, then ``samizdat.toml``, then ``SAMIZDAT_*`` environment variables.

Every key is typed; a wrong key or value raises one :class:`ConfigError` that names the key
and says how to fix it. Environment variables use the dotted key with ``__`` between parts,
upper-cased: ``fetch.timeout`` is ``SAMIZDAT_FETCH__TIMEOUT``, ``platforms.wechat.hosts`` is
``SAMIZDAT_PLATFORMS__WECHAT__HOSTS`` (a comma-separated list). ``SAMIZDAT_DATA_DIR`` sets
``data_dir``; ``SAMIZDAT_TIME_SCALE`` is short for ``SAMIZDAT_WATCH__TIME_SCALE``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
CONFIG_FILE_NAME = "samizdat.toml"
ENV_PREFIX = "SAMIZDAT_"
ENV_SHORTHANDS = {"SAMIZDAT_TIME_SCALE": "SAMIZDAT_WATCH__TIME_SCALE"}


class ConfigError(ValueError):
    """A setting is unknown or has a value of the wrong kind."""


@dataclass(frozen=True)
class Range:
    """Where a number setting may lie: from ``low`` (itself excluded when ``above``) to ``high``.

    Unmarked, a whole number may be 0 or more and a number must be more than 0."""

    low: float = 0
    high: float | None = None
    above: bool = False

    def holds(self, value: float) -> bool:
        over = value > self.low if self.above else value >= self.low
        return over and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        low = f"{'>' if self.above else '≥'} {self.low:g}"
        return low if self.high is None else f"{low} and ≤ {self.high:g}"


AT_LEAST_ONE = Range(1)
ZERO_OR_MORE = Range(0)
NUMBERS = {int: ZERO_OR_MORE, float: Range(0, above=True)}


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0
    connect_timeout: float = 10.0
    max_redirects: int = 10
    max_body_bytes: Annotated[int, AT_LEAST_ONE] = 20_000_000
    per_host_concurrency: Annotated[int, AT_LEAST_ONE] = 4
    per_host_rate: Annotated[float, ZERO_OR_MORE] = 0.0  # requests/s to one host; 0: no rate limit
    total_concurrency: Annotated[int, AT_LEAST_ONE] = 32
    allow_private_networks: bool = False
    http2: bool = True


@dataclass(frozen=True)
class ArchiveSettings:
    warc_max_bytes: Annotated[int, AT_LEAST_ONE] = 1_000_000_000
    warc_prefix: str = "samizdat"
    fsync: bool = True


@dataclass(frozen=True)
class CaptureSettings:
    images: bool = True
    max_images_per_article: int = 200
    max_image_bytes: int = 15_000_000


@dataclass(frozen=True)
class WatchSettings:
    time_scale: float = 1.0  # divides every interval: 60 runs a simulated hour in a minute
    checks_per_article: Annotated[int, AT_LEAST_ONE] = 60  # requests per article over the 7-day schedule
    confirmation_seconds: float = 1800.0  # a removal is declared when a check this much later agrees
    horizon_days: float = 7.0  # the adaptive schedule's span (at most the removal profile's, 7 days)
    # Past the horizon, a live article is checked this often; 0: never again.
    after_horizon_hours: Annotated[float, ZERO_OR_MORE] = 168.0
    removed_recheck_hours: float = 24.0  # removed articles are still looked at: some come back
    backoff_seconds: float = 600.0  # a run of verification or rate-limit pages rests a host up to 4× this
    claim_lease_seconds: float = 300.0  # a worker's claim on due checks; a dead worker's claims free after it
    retry_seconds: float = 15.0  # a failed first sight (or confirmation) is tried again this soon, doubling
    capture_retries: int = 3  # retries of a first sight before it waits for the source's next poll
    # At most this share of a host's rate goes to polling its sources.
    poll_share: Annotated[float, Range(0, 1, above=True)] = 0.5
    aging_seconds: float = 600.0  # a request waiting this long gets a share of its host's turns, any class


@dataclass(frozen=True)
class NotifySettings:
    webhooks: tuple[str, ...] = ()  # URLs that receive each event as a JSON POST
    apprise: tuple[str, ...] = ()  # Apprise URLs (needs `pip install apprise`)
    attempts: Annotated[int, AT_LEAST_ONE] = 5  # deliveries tried per event and target, doubling back-off
    backoff_seconds: float = 2.0  # wait before the first retry
    timeout: float = 10.0


@dataclass(frozen=True)
class KeywordSettings:
    terms: tuple[str, ...] = ()  # articles matching any of these are priority (checked more often)


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: Annotated[int, Range(1, 65535)] = 8080
    admin_token: str = ""  # bearer token for the admin API (add sources, submit URLs); empty: disabled
    page_size: Annotated[int, AT_LEAST_ONE] = 30
    base_url: str = ""  # the site's public address, for feeds and Memento links; empty: from the request
    search_per_minute: int = 30  # searches a minute per client address, after a burst; 0: no limit
    search_burst: int = 20


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class LogSettings:
    format: str = "text"  # json: one object per line, for a log collector
    level: str = "info"

    def __post_init__(self) -> None:
        if self.format not in LOG_FORMATS:
            raise ConfigError(f"log.format: expected one of {', '.join(LOG_FORMATS)}, got {self.format!r}")
        if self.level not in LOG_LEVELS:
            raise ConfigError(f"log.level: expected one of {', '.join(LOG_LEVELS)}, got {self.level!r}")


@dataclass(frozen=True)
class PlatformSettings:
    hosts: tuple[str, ...] = ()


def _default_platforms() -> dict[str, PlatformSettings]:
    return {"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", "weixin.qq.com"))}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("samizdat-data")
    fetch: FetchSettings = field(default_factory=FetchSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    keywords: KeywordSettings = field(default_factory=KeywordSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    web: WebSettings = field(default_factory=WebSettings)
    log: LogSettings = field(default_factory=LogSettings)
    platforms: dict[str, PlatformSettings] = field(default_factory=_default_platforms)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'samizdat.db').resolve()}"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warcs"


def load_settings(
    config_path: Path | None = None,
    *,
    data_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read settings from ``config_path`` (or ``./samizdat.toml`` when present) and the environment."""
    environ = os.environ if environ is None else environ
    raw: dict[str, typing.Any] = {}
    if config_path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_FILE_NAME
        config_path = candidate if candidate.is_file() else None
    elif not config_path.is_file():
        raise ConfigError(f"config file {config_path} does not exist: check the --config path")
    if config_path is not None:
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_path} is not valid TOML: {exc}") from exc
    _merge(raw, _from_environ(environ))
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)
    return _build(Settings, raw, "")


def _from_environ(environ: Mapping[str, str]) -> dict[str, typing.Any]:
    tree: dict[str, typing.Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        name = ENV_SHORTHANDS.get(name, name)
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _EnvValue(value)
    return tree


class _EnvValue(str):
    """A value from the environment: always text, converted by the key's declared type."""


def _merge(base: dict[str, typing.Any], extra: dict[str, typing.Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _build(cls: type, raw: typing.Any, prefix: str) -> typing.Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table of settings")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        key = prefix + unknown[0]
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{key}: unknown setting (known here: {known})")
    values = {name: _convert(hints[name], raw[name], prefix + name) for name in raw}
    return cls(**values)


def _convert(kind: typing.Any, value: typing.Any, key: str) -> typing.Any:
    origin = typing.get_origin(kind)
    if origin is Annotated:
        kind, bounds = typing.get_args(kind)
        return _scalar(kind, value, key, bounds)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key + ".")
    if origin is dict:
        _, item_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        merged = dict(_default_platforms()) if key == "platforms" else {}
        for name, item in value.items():
            merged[name] = _convert(item_kind, item, f"{key}.{name}")
        return merged
    if origin is tuple:
        if isinstance(value, _EnvValue):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{key}: expected a list of strings, e.g. ["a", "b"]; got {value!r}')
        return tuple(value)
    if origin in (typing.Union, types.UnionType):
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return _scalar(kind, value, key)


def _scalar(kind: type, value: typing.Any, key: str, bounds: Range | None = None) -> typing.Any:
    if isinstance(value, _EnvValue):
        value = _parse_env_scalar(kind, str(value), key)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if kind in NUMBERS:
        bounds = bounds or NUMBERS[kind]
        what = "a whole number" if kind is int else "a number"
        allowed = int if kind is int else int | float
        if isinstance(value, allowed) and not isinstance(value, bool) and bounds.holds(value):
            return kind(value)
        raise ConfigError(f"{key}: expected {what} {bounds}, got {value!r}")
    if kind is Path:
        if isinstance(value, str) and value:
            return Path(value).expanduser()
        raise ConfigError(f"{key}: expected a directory path, got {value!r}")
    if isinstance(value, str):
        return value
    raise ConfigError(f"{key}: expected text, got {value!r}")


def _parse_env_scalar(kind: type, text: str, key: str) -> typing.Any:
    env_name = ENV_PREFIX + key.upper().replace(".", "__")
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(
            f"{key}: environment variable {env_name}={text!r} is not a valid {kind.__name__}"
        ) from None
    return text
