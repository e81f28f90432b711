"""Settings: one typed model, read from defaults, then ``samizdat.toml``, then ``SAMIZDAT_*``
environment variables, then command-line flags (each later one wins).

Every key is declared once below with its type, its allowed range and its unit; pydantic
checks them and pydantic-settings reads the file and the environment. A wrong key or value
raises one :class:`ConfigError` that names the key, says what was expected and where the
value came from. Environment variables use the dotted key with ``__`` between parts,
upper-cased: ``fetch.timeout`` is ``SAMIZDAT_FETCH__TIMEOUT``, ``platforms.wechat.hosts`` is
``SAMIZDAT_PLATFORMS__WECHAT__HOSTS`` (a comma-separated list). ``SAMIZDAT_DATA_DIR`` sets
``data_dir``; ``SAMIZDAT_TIME_SCALE`` is short for ``SAMIZDAT_WATCH__TIME_SCALE``.
``samizdat config`` prints the effective settings and where each came from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic.dataclasses import dataclass
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, TomlConfigSettingsSource

from samizdat.names import CONFIG_FILE_NAME, DATABASE_FILE_NAME, DEFAULT_DATA_DIR, ENV_PREFIX

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
ENV_SHORTHANDS = {"SAMIZDAT_TIME_SCALE": "SAMIZDAT_WATCH__TIME_SCALE"}
DEFAULT = "default"

_SECTION = ConfigDict(extra="forbid")


class ConfigError(ValueError):
    """A setting is unknown or has a value of the wrong kind."""


def setting(default: Any, about: str, *, unit: str = "", **bounds: float) -> Any:
    """A key's default, what it means, its unit and its range (``ge``, ``gt``, ``le``)."""
    return Field(default, description=about, json_schema_extra={"unit": unit} if unit else None, **bounds)


def _split_commas(value: Any) -> Any:
    """A list from the environment is comma-separated text."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _directory(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a directory path")
        return Path(value).expanduser()
    return value


Texts = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_split_commas)]


def _egresses(value: tuple[str, ...]) -> tuple[str, ...]:
    from samizdat.fetch.egress import parse_egresses

    parse_egresses(value)  # its EgressError, a ValueError, says what is expected
    return value


@dataclass(frozen=True, config=_SECTION)
class FetchSettings:
    user_agent: str = setting(DEFAULT_USER_AGENT, "sent with every request")
    timeout: float = setting(20.0, "a whole fetch, redirects and body included", unit="s", gt=0)
    connect_timeout: float = setting(10.0, "to open a connection", unit="s", gt=0)
    max_redirects: int = setting(10, "redirects followed per fetch", ge=0)
    max_body_bytes: int = setting(20_000_000, "bodies past this are refused", unit="bytes", ge=1)
    per_host_concurrency: int = setting(4, "requests in flight to one host", ge=1)
    per_host_rate: float = setting(0.0, "requests a second to one host; 0: no rate limit", unit="1/s", ge=0)
    total_concurrency: int = setting(32, "requests in flight altogether", ge=1)
    allow_private_networks: bool = setting(False, "fetch private, loopback and reserved addresses")
    http2: bool = setting(True, "speak HTTP/2 where the server does")
    lookup_timeout: float = setting(
        5.0, "a name lookup that has not answered by then has failed", unit="s", gt=0
    )
    lookup_cache_seconds: float = setting(
        300.0, "a name's addresses are used this long before asking again", unit="s", ge=0
    )
    egress: Annotated[Texts, AfterValidator(_egresses)] = setting(
        (),
        "ways out, each with its own budget per host: direct, an address of this machine, "
        "http://host:port or socks5://user:password@host:port; empty: direct",
    )


@dataclass(frozen=True, config=_SECTION)
class PoolSettings:
    store_threads: int = setting(4, "threads for database calls", ge=1)
    cpu_threads: int = setting(2, "threads for parsing, fingerprints and MinHash", ge=1)
    lookup_threads: int = setting(8, "threads for name lookups (one per name at a time)", ge=1)
    outside_threads: int = setting(2, "threads for calls that wait on others: time stamps, Apprise", ge=1)


@dataclass(frozen=True, config=_SECTION)
class ArchiveSettings:
    warc_max_bytes: int = setting(1_000_000_000, "a WARC file past this size is closed", unit="bytes", ge=1)
    warc_prefix: str = setting("samizdat", "the start of every WARC file name")
    fsync: bool = setting(True, "make records durable before the database points at them")


@dataclass(frozen=True, config=_SECTION)
class CaptureSettings:
    images: bool = setting(True, "archive each article's images (once per content hash)")
    max_images_per_article: int = setting(200, "images kept per article", ge=0)
    max_image_bytes: int = setting(15_000_000, "larger images are left out", unit="bytes", ge=0)


@dataclass(frozen=True, config=_SECTION)
class WatchSettings:
    time_scale: float = setting(1.0, "divides every interval: 60 runs a simulated hour in a minute", gt=0)
    checks_per_article: int = setting(60, "requests per article over the 7-day schedule", ge=1)
    confirmation_seconds: float = setting(
        1800.0, "a removal is declared when a check this much later agrees", unit="s", gt=0
    )
    horizon_days: float = setting(7.0, "the adaptive schedule's span (at most 7 days)", unit="days", gt=0)
    after_horizon_hours: float = setting(
        168.0, "past the horizon, a live article is checked this often; 0: never again", unit="h", ge=0
    )
    removed_recheck_hours: float = setting(
        24.0,
        "removed articles are still looked at (some come back): first after this, then after as long "
        "as they have been gone, up to after_horizon_hours",
        unit="h",
        gt=0,
    )
    backoff_seconds: float = setting(
        600.0, "a run of verification or rate-limit pages rests a host up to 4× this", unit="s", gt=0
    )
    claim_lease_seconds: float = setting(300.0, "a worker's claim on due checks", unit="s", gt=0)
    retry_seconds: float = setting(
        15.0, "a failed first sight (or confirmation) is tried again this soon, doubling", unit="s", gt=0
    )
    capture_retries: int = setting(3, "retries of a first sight before it waits for the next poll", ge=0)
    poll_floor_seconds: float = setting(
        900.0,
        "a source is polled at most this often, unless it has its own (source add --interval)",
        unit="s",
        gt=0,
    )
    poll_ceiling_seconds: float = setting(
        43_200.0, "a source that publishes nothing is still polled at least this often", unit="s", gt=0
    )
    aging_seconds: float = setting(
        600.0, "a request waiting this long gets a share of its host's turns, any class", unit="s", gt=0
    )
    seal_seconds: float = setting(
        5.0, "new log entries get a signed tree head this often (real time, not scaled)", unit="s", gt=0
    )


@dataclass(frozen=True, config=_SECTION)
class LinkSettings:
    follow: Texts = setting(("wechat",), "platforms whose articles' links to other articles are captured too")
    depth: int = setting(1, "links followed from an article a source listed: 1 = its links, not theirs", ge=0)
    per_account_per_day: int = setting(
        30, "captures of linked articles one account's pages may start a (schedule) day", ge=0
    )
    per_day: int = setting(1000, "captures of linked articles a (schedule) day, all accounts", ge=0)
    retry_seconds: float = setting(
        3600.0,
        "a linked article whose host could not be reached is tried again this much later, doubling",
        unit="s",
        gt=0,
    )
    retries: int = setting(
        5, "tries after the first before a linked article is given up (with its note)", ge=0
    )


@dataclass(frozen=True, config=_SECTION)
class ImageSettings:
    read: bool = setting(True, "read archived images in the background: hashes (needs samizdat[images])")
    text: bool = setting(True, "and the text in them, when the OCR extra is installed (samizdat[ocr])")
    cpu_share: float = setting(
        0.25, "at most this share of one core goes to reading images, at low priority", gt=0, le=1
    )


@dataclass(frozen=True, config=_SECTION)
class NotifySettings:
    webhooks: Texts = setting((), "URLs that receive each event as a JSON POST")
    apprise: Texts = setting((), "Apprise URLs (needs `pip install apprise`)")
    attempts: int = setting(5, "deliveries tried per event and target, doubling back-off", ge=1)
    backoff_seconds: float = setting(2.0, "wait before the first retry", unit="s", gt=0)
    timeout: float = setting(10.0, "one delivery", unit="s", gt=0)


@dataclass(frozen=True, config=_SECTION)
class TimestampSettings:
    authorities: Texts = setting((), "RFC 3161 time-stamping URLs that stamp each signed tree head")
    ca_file: str = setting(
        "/etc/ssl/certs/ca-certificates.crt", "the roots the authorities' certificates are checked against"
    )
    timeout: float = setting(10.0, "one stamp request", unit="s", gt=0)


def _witness_keys(value: tuple[str, ...]) -> tuple[str, ...]:
    from samizdat.evidence.verify_evidence import COSIGNATURE_ED25519, parse_vkey

    for vkey in value:
        try:
            kind = parse_vkey(vkey)[1]
        except ValueError as exc:  # binascii.Error is one
            raise ValueError(f"verifier keys as `samizdat witness key` prints them; {vkey!r}: {exc}") from exc
        if kind != COSIGNATURE_ED25519:
            raise ValueError(
                f"verifier keys as `samizdat witness key` prints them; "
                f"{vkey!r} is not a witness's (type 0x04)"
            )
    return value


def _key_name(value: str) -> str:
    if any(c.isspace() or c == "+" for c in value):
        raise ValueError("a name without spaces or '+' (a schema-less URL, e.g. archive.example/log)")
    return value


KeyName = Annotated[str, AfterValidator(_key_name)]


@dataclass(frozen=True, config=_SECTION)
class WitnessSettings:
    keys: Annotated[Texts, AfterValidator(_witness_keys)] = setting(
        (), "verifier keys (name+id+key) of the witnesses whose cosignatures of this log are kept"
    )
    quorum: int = setting(1, "cosignatures of those witnesses a reader's page asks for", ge=0)
    origin: KeyName = setting(
        "", "the origin line of this log's checkpoints; empty: as signed so far, else the site's address"
    )
    name: KeyName = setting("", "this archive's name as a witness of other logs; empty: from its address")
    timeout: float = setting(30.0, "one request to a watched log", unit="s", gt=0)

    @property
    def names(self) -> list[str]:
        """The witnesses' key names, as their cosignature lines give them."""
        from samizdat.evidence.verify_evidence import parse_vkey

        return [parse_vkey(vkey)[0] for vkey in self.keys]

    @property
    def needed(self) -> int:
        """Cosignatures a head needs: the quorum, or all the witnesses when there are fewer."""
        return min(self.quorum, len(self.keys))

    every_seconds: float = setting(
        300.0,
        "the watcher witnesses the logs `samizdat witness add` named this often (real time); 0: never",
        unit="s",
        ge=0,
    )


@dataclass(frozen=True, config=_SECTION)
class PackageSettings:
    domain: str = setting(
        "", "sign WACZ files as this domain (authsign's domain mode); empty: the package key alone"
    )
    domain_cert: str = setting(
        "", "PEM chain (leaf first) certifying the package key for `domain`: see `samizdat log csr`"
    )


@dataclass(frozen=True, config=_SECTION)
class KeywordSettings:
    terms: Texts = setting((), "articles matching any of these are priority (checked more often)")


@dataclass(frozen=True, config=_SECTION)
class WebSettings:
    host: str = setting("127.0.0.1", "where `samizdat serve` listens")
    port: int = setting(8080, "the port it listens on", ge=1, le=65535)
    admin_token: str = setting("", "bearer token for the admin API; empty: the admin API is off")
    page_size: int = setting(30, "articles per list page", ge=1)
    base_url: str = setting("", "the site's public address, for feeds and Memento; empty: from the request")
    search_per_minute: int = setting(
        30, "searches a minute per client address, after a burst; 0: no limit", ge=0
    )
    search_burst: int = setting(20, "searches allowed at once before the rate applies", ge=0)


@dataclass(frozen=True, config=_SECTION)
class DatabaseSettings:
    url: str = setting("", "empty: SQLite in data_dir; or postgresql://user@host/dbname")


@dataclass(frozen=True, config=_SECTION)
class LogSettings:
    format: Literal["text", "json"] = setting("text", "json: one object per line, for a log collector")
    level: Literal["debug", "info", "warning", "error"] = setting("info", "the least severe messages logged")


@dataclass(frozen=True, config=_SECTION)
class PlatformSettings:
    hosts: Texts = setting((), "URLs on these hosts are parsed by this platform's module")


BUILTIN_PLATFORMS = {"wechat": PlatformSettings(hosts=("mp.weixin.qq.com", "weixin.qq.com"))}


def _with_builtin_platforms(platforms: dict[str, PlatformSettings]) -> dict[str, PlatformSettings]:
    """A platform named in the settings replaces its built-in entry; the others stay."""
    return BUILTIN_PLATFORMS | platforms


@dataclass(frozen=True, config=_SECTION)
class Settings:
    data_dir: Annotated[Path, BeforeValidator(_directory)] = setting(
        Path(DEFAULT_DATA_DIR), "the SQLite database and the WARC files"
    )
    fetch: FetchSettings = dataclasses.field(default_factory=FetchSettings)
    pools: PoolSettings = dataclasses.field(default_factory=PoolSettings)
    archive: ArchiveSettings = dataclasses.field(default_factory=ArchiveSettings)
    capture: CaptureSettings = dataclasses.field(default_factory=CaptureSettings)
    watch: WatchSettings = dataclasses.field(default_factory=WatchSettings)
    links: LinkSettings = dataclasses.field(default_factory=LinkSettings)
    images: ImageSettings = dataclasses.field(default_factory=ImageSettings)
    notify: NotifySettings = dataclasses.field(default_factory=NotifySettings)
    timestamps: TimestampSettings = dataclasses.field(default_factory=TimestampSettings)
    packages: PackageSettings = dataclasses.field(default_factory=PackageSettings)
    witnesses: WitnessSettings = dataclasses.field(default_factory=WitnessSettings)
    keywords: KeywordSettings = dataclasses.field(default_factory=KeywordSettings)
    database: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    web: WebSettings = dataclasses.field(default_factory=WebSettings)
    log: LogSettings = dataclasses.field(default_factory=LogSettings)
    platforms: Annotated[dict[str, PlatformSettings], AfterValidator(_with_builtin_platforms)] = (
        dataclasses.field(default_factory=lambda: dict(BUILTIN_PLATFORMS))
    )

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / DATABASE_FILE_NAME).resolve()}"

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warcs"


# The shape pydantic-settings reads the file and the environment into: the fields of Settings.
_Sources = create_model(
    "_Sources",
    __base__=BaseSettings,
    **{name: (info.annotation, info) for name, info in Settings.__pydantic_fields__.items()},  # type: ignore[attr-defined]
)


class _Environment(EnvSettingsSource):
    """The ``SAMIZDAT_*`` variables of a given mapping (the process's, or a test's)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._given = {ENV_SHORTHANDS.get(name, name).lower(): value for name, value in environ.items()}
        super().__init__(_Sources, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._given.items() if name.startswith(ENV_PREFIX.lower())}


@dataclasses.dataclass(frozen=True)
class Layers:
    """The effective settings and, for each dotted key set anywhere, where it was set."""

    settings: Settings
    origins: dict[str, str]

    def origin(self, key: str) -> str:
        return self.origins.get(key, DEFAULT)


def load_settings(
    config_path: Path | None = None,
    *,
    data_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read settings from ``config_path`` (or ``./samizdat.toml`` when present) and the environment."""
    return load_layers(config_path, data_dir=data_dir, environ=environ, cwd=cwd).settings


def load_layers(
    config_path: Path | None = None,
    *,
    data_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Layers:
    """Like :func:`load_settings`, keeping where each key came from."""
    if config_path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_FILE_NAME
        config_path = candidate if candidate.is_file() else None
    elif not config_path.is_file():
        raise ConfigError(f"config file {config_path} does not exist: check the --config path")
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_path is not None:
        layers.append((str(config_path), _read_toml(config_path)))
    try:
        from_environment = _Environment(os.environ if environ is None else environ)()
    except Exception as exc:  # pydantic-settings' own errors name the variable
        raise ConfigError(f"the environment: {exc}") from None
    layers.append(("environment", from_environment))
    if data_dir is not None:
        layers.append(("--data-dir", {"data_dir": str(data_dir)}))
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, values in layers:
        _merge(merged, values)
        for key, _ in _flatten(values):
            origins[key] = _env_name(key) if name == "environment" else name
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origins)) from None
    except TypeError as exc:  # a section given as a value (``fetch = 3``)
        raise ConfigError(f"config: {exc}") from None
    return Layers(settings, origins)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return TomlConfigSettingsSource(_Sources, toml_file=path)()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value


def _flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


def effective(settings: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every dotted key of ``settings`` with its value and its field (for its meaning and unit)."""
    for name, info in type(settings).__pydantic_fields__.items():
        value = getattr(settings, name)
        if dataclasses.is_dataclass(value):
            yield from effective(value, f"{prefix}{name}.")
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from effective(item, f"{prefix}{name}.{key}.")
        else:
            yield prefix + name, value, info


REFERENCE_INTRO = """# Configuration

Generated from the settings model (`src/samizdat/config.py`) by
`samizdat config --reference > docs/configuration.md`; a test keeps the two equal, so this page
cannot drift from the code.

Settings come from the defaults below, then `samizdat.toml` (in the working directory, or
`--config FILE`), then `SAMIZDAT_*` environment variables, then flags; each later one wins.
In the file, a key `fetch.timeout` is `timeout` under `[fetch]`; in the environment it is
`SAMIZDAT_FETCH__TIMEOUT` (lists: comma-separated). A wrong key or value stops samizdat with a
message that names the key, what was expected and where the value came from.
`samizdat config` prints the effective settings and the origin of each; `--explain` adds what
each means.
"""


def settings_reference() -> str:
    """docs/configuration.md: every key of the settings model with its default, unit, allowed
    values, meaning and environment variable, section by section."""
    sections: dict[str, list[str]] = {}
    for key, value, field in effective(Settings()):
        section = key.rpartition(".")[0]
        allowed = []
        for bound in field.metadata:
            for name, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                if getattr(bound, name, None) is not None:
                    allowed.append(f"{sign} {getattr(bound, name)}")
        if typing.get_origin(field.annotation) is Literal:
            allowed.append(" / ".join(f"`{choice}`" for choice in typing.get_args(field.annotation)))
        if value == "":
            default = "(empty)"
        elif isinstance(value, str | Path):
            default = f"`{value}`"
        else:
            shown = list(value) if isinstance(value, tuple) else value
            default = f"`{json.dumps(shown, ensure_ascii=False)}`"
        unit = (field.json_schema_extra or {}).get("unit", "")
        about = (field.description or "").replace("|", "\\|")
        sections.setdefault(section, []).append(
            f"| `{key}` | {default} | {unit} | {', '.join(allowed)} | {about} | `{_env_name(key)}` |"
        )
    parts = [REFERENCE_INTRO.rstrip("\n")]
    for section, rows in sections.items():
        parts.append(f"\n## {f'[{section}]' if section else 'Top level'}\n")
        parts.append("| key | default | unit | allowed | meaning | environment |")
        parts.append("| --- | --- | --- | --- | --- | --- |")
        parts.extend(rows)
    return "\n".join(parts) + "\n"


def _env_name(key: str) -> str:
    return ENV_PREFIX + key.upper().replace(".", "__")


def _explain(error: ValidationError, origins: Mapping[str, str]) -> str:
    """The first problem, in the terms of the settings: key, what is allowed, what was given."""
    problem = error.errors()[0]
    location = [str(part) for part in problem["loc"]]
    key = ".".join(location)
    given = problem.get("input")
    where = origins.get(key)
    source = f" (from {where})" if where else ""
    if problem["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        known = ", ".join(sorted(_fields_at(location[:-1])))
        return f"{key}: unknown setting{source} (known here: {known})"
    kind = getattr(_field_at(location), "annotation", None)
    if problem["type"] == "value_error":  # a check of our own: its message says what it expects
        expected = str(problem["ctx"]["error"]).removeprefix("expected ")
    elif kind in (int, float):
        expected = _number(_field_at(location))
    elif kind is bool:
        expected = "true or false"
    elif typing.get_origin(kind) is Literal:
        expected = "one of " + ", ".join(typing.get_args(kind))
    elif kind == tuple[str, ...]:
        expected = 'a list of texts, e.g. ["a", "b"]'
    elif dataclasses.is_dataclass(kind) or problem["type"] == "dict_type":
        expected = f"a table of settings ([{key}])"
    else:
        expected = problem["msg"].removeprefix("Input should be ")
    return f"{key}: expected {expected}, got {given!r}{source}"


def _walk(location: list[str]) -> tuple[Any, Any]:
    """The section and the field a validation error's location points at (None: none such);
    a platform's own name in the location is skipped."""
    section: Any = Settings
    field = None
    parts = list(location)
    while parts:
        part = parts.pop(0)
        field = getattr(section, "__pydantic_fields__", {}).get(part)
        if field is None:
            return section, None
        if section is Settings and part == "platforms":
            if not parts:
                return section, field
            parts.pop(0)
            section = PlatformSettings
        else:
            section = field.annotation
    return section, field


def _fields_at(location: list[str]) -> list[str]:
    section, _ = _walk(location)
    return list(getattr(section, "__pydantic_fields__", {}))


def _field_at(location: list[str]) -> Any:
    return _walk(location)[1]


def _number(field: Any) -> str:
    what = "a whole number" if field.annotation is int else "a number"
    bounds = []
    for bound in field.metadata:
        for name, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            limit = getattr(bound, name, None)
            if limit is not None:
                bounds.append(f"{sign} {limit:g}")
    return " ".join([what, " and ".join(bounds)]) if bounds else what
