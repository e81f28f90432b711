"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are stored as UTC; an article's own UTC offset (a WeChat page is in UTC+8) is kept
beside its publication time so it can be shown as the page showed it. Every version, check
and blob points at the WARC record that is its evidence: (file, offset, length, digest).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    select,
)

from samizdat.status import State

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the database (portable)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def refresh_statistics(connection, *tables: Table) -> None:
    """Let the planner see what a bulk write added (``ANALYZE``): with the sizes it knew
    before, PostgreSQL chose plans that grew with the square of the archive (issue 28)."""
    for table in tables:  # one at a time: SQLite's ANALYZE takes one name
        connection.exec_driver_sql(f"ANALYZE {table.name}")


def partial_index(name: str, column: Column, *, where) -> Index:
    """An index of the rows ``where`` holds only, on both backends."""
    return Index(name, column, sqlite_where=where, postgresql_where=where)


def warc_columns(prefix: str = "warc") -> list[Column]:
    """Where a WARC record lives; all null when the row has no record (e.g. a network failure)."""
    return [
        Column(f"{prefix}_file", String(255)),
        Column(f"{prefix}_offset", BigInteger),
        Column(f"{prefix}_length", BigInteger),
        Column(f"{prefix}_digest", String(100)),
        Column(f"{prefix}_record_id", String(100)),
    ]


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # feed, sitemap, urls, manual
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("poll_interval_seconds", Integer),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_polled_at", UTCDateTime),
    Column("keywords", JSON),  # watched in this source's articles, besides the global watchlist
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(100)),  # the worker polling it now
    Column("claimed_until", UTCDateTime),
    Column("listing", JSON),  # the URLs its last poll listed, in order (sources/listing.py)
    # The account it lists articles of (an album found in the account's articles); null: none.
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="SET NULL")),
    # When a poll is worth its request (watch/publishing.py); null: at once. A source may be
    # polled earlier, from poll_interval_seconds on, with what the host's checks leave.
    Column("next_poll_at", UTCDateTime),
    Column("publishing", JSON),  # what its polls have shown: when new entries came (publishing.py)
    # 1: its listing was seen to leave out a removed article, so listing one is a look at it;
    # 0: to keep one listed; null: not known yet (watch/listing_looks.py).
    Column("drops_removed", Integer),
    Column("left_out", JSON),  # URLs that left its listing's middle lately, until that is known
)

# Accounts someone asked to watch (``samizdat account add``). Articles are attached by what
# they say of themselves: WeChat's biz (the first part of their canonical id), user name or nickname.
accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(40), nullable=False),
    Column("biz", Text),  # WeChat's account id, as in its article URLs (__biz)
    Column("user_name", Text),  # gh_…
    Column("nickname", Text),
    Column("follow_albums", Integer, nullable=False, default=1),  # albums in its articles become sources
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "biz", name="uq_accounts_platform_biz"),
    UniqueConstraint("platform", "user_name", name="uq_accounts_platform_user_name"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(40), nullable=False),
    Column("canonical_id", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("account", Text),
    Column("account_id", Text),
    Column("author", Text),
    Column("published_at", UTCDateTime),
    Column("published_offset_minutes", Integer),
    Column("published_precision", String(10)),
    Column("state", String(20), nullable=False, default=State.LIVE.value),
    Column("outcome", String(40)),
    Column("priority", Integer, nullable=False, default=0),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("first_captured_at", UTCDateTime, nullable=False),
    Column("last_seen_alive_at", UTCDateTime),
    Column("suspected_at", UTCDateTime),  # a check saw a removal, not yet confirmed
    Column("suspected_by", Text),  # the way out (fetch.egress) of that check: confirmed by another
    Column("detected_at", UTCDateTime),
    Column("next_check_at", UTCDateTime),
    # What the next check compares against, kept here so that finding due work reads one table.
    Column("check_url", Text),  # where the latest capture was fetched from
    Column("content_hash", String(64)),  # of the latest capture's title and text
    Column("page_fingerprint", String(64)),  # of the latest page that parsed as the article
    Column("keywords", JSON),  # watchlist terms matched at capture
    Column("cluster_id", Integer),  # the oldest article sharing its text (store/copies.py); null alone
    Column("claimed_by", String(100)),
    Column("claimed_until", UTCDateTime),
    # What a source's listing said of it (title, account, date, summary): all there is of an
    # article that was already removed when samizdat first looked at it.
    Column("listed", JSON),
    UniqueConstraint("platform", "canonical_id", name="uq_articles_platform_canonical_id"),
)
Index("ix_articles_next_check_at", articles.c.next_check_at)
Index("ix_articles_state_next_check_at", articles.c.state, articles.c.next_check_at)
Index("ix_articles_account", articles.c.account)
Index("ix_articles_account_id", articles.c.account_id)
Index("ix_articles_cluster_id", articles.c.cluster_id)
# Only claimed rows (a few hundred at a time): who holds claims is found at once (claims of dead workers).
partial_index("ix_articles_claimed_by", articles.c.claimed_by, where=articles.c.claimed_by.is_not(None))

# Every URL an article was reached by (short, long, redirect target): one article, many URLs.
article_urls = Table(
    "article_urls",
    metadata,
    Column("url", Text, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
)
Index("ix_article_urls_article_id", article_urls.c.article_id)

# The links to other articles in an article's latest captured version, in page order: the URL as
# the page gave it (made canonical) and, when the URL names it, the linked article's identity.
article_links = Table(
    "article_links",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("canonical_id", Text),
)
Index("ix_article_links_canonical_id", article_links.c.canonical_id)
Index("ix_article_links_url", article_links.c.url)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("captured_at", UTCDateTime, nullable=False),
    Column("final_url", Text, nullable=False),
    Column("http_status", Integer),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("details", JSON, nullable=False),  # images, media, cover, description, repost_of, labels
    *warc_columns(),
    UniqueConstraint("article_id", "content_hash", name="uq_versions_article_id_content_hash"),
)


def latest_versions(article_ids: Iterable[int]):
    """The id of each article's latest version, of ``article_ids`` (those that have one): a
    query over the given articles only, read through their versions' index."""
    return (
        select(func.max(versions.c.id))
        .where(versions.c.article_id.in_(list(article_ids)))
        .group_by(versions.c.article_id)
    )


blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(100)),
    Column("size", BigInteger, nullable=False),
    Column("url", Text, nullable=False),  # where it was first fetched from
    Column("first_seen_at", UTCDateTime, nullable=False),
    *warc_columns(),
)

# What reading an image once (by content) found: its size and perceptual hashes, why it is a
# decoration, why it holds no text, or why it could not be read, and the text in it
# (relate/pictures.py, watch/pictures.py).
image_facts = Table(
    "image_facts",
    metadata,
    Column("sha256", String(64), ForeignKey("blobs.sha256", ondelete="CASCADE"), primary_key=True),
    Column("analysed_at", UTCDateTime, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("format", String(20)),
    Column("frames", Integer),
    Column("refused", String(40)),  # why it could not be read (too_many_pixels, truncated, …)
    Column("message", Text),
    Column("decoration", String(20)),  # tiny, strip, qr_code: left out of comparisons
    Column("wordless", String(20)),  # spacer, icon, blank, qr_code: not read for text
    Column("windows", JSON),  # [[DCT hash, gradient hash] as 36 hex digits each], the whole image first
    Column("ocr_text", Text),
    Column("ocr_lines", JSON),  # [{"text", "box": [[x, y] ×4], "confidence"}]
    Column("ocr_at", UTCDateTime),
)

# 16-bit bands of the images' DCT hashes, tagged with their place (relate/pictures.py):
# near-duplicates share one.
image_bands = Table(
    "image_bands",
    metadata,
    Column("band", Integer, primary_key=True),
    Column("sha256", String(64), ForeignKey("image_facts.sha256", ondelete="CASCADE"), primary_key=True),
)

version_blobs = Table(
    "version_blobs",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, primary_key=True),  # the image's URL as the article gives it
    Column("sha256", String(64), ForeignKey("blobs.sha256"), nullable=False),
)

checks = Table(
    "checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("http_status", Integer),
    Column("message", Text),
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="SET NULL")),
    *warc_columns(),
)
Index("ix_checks_article_id_checked_at", checks.c.article_id, checks.c.checked_at)

# The searchable form of each article's latest version, folded (see store/search.py); on
# SQLite an FTS5 table of character bigrams (search_fts) indexes it.
search_docs = Table(
    "search_docs",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("title", Text),
    Column("account", Text),
    Column("author", Text),
    Column("body", Text),
    Column("images", Text),  # the text read in the images of the latest version
    # PostgreSQL: the distinct characters and bigrams, GIN-indexed (SQLite has search_fts instead).
    Column("tokens", JSON().with_variant(ARRAY(Text), "postgresql")),
)


# Every `samizdat worker` (and `watch`) process, with its last sign of life.
workers = Table(
    "workers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    Column("checks", BigInteger, nullable=False),
    Column("captures", BigInteger, nullable=False),
    Column("queues", JSON),  # its requests waiting, by class: {"capture": [count, oldest wait s], …}
    Column("requests", JSON),  # its requests sent since it started, by host and class: {host: {class: n}}
    Column("egresses", JSON),  # its ways out: {name: {"requests": n, "refusals": n, "resting_hosts": n, …}}
)

# The per-host request rate shared by workers on several machines (fetch/turns.py): when each
# host's next request may start, on the database's clock (seconds since the epoch).
host_turns = Table(
    "host_turns",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("next_at", Float, nullable=False),
    Column("requests", BigInteger, nullable=False),
    # The most urgent class waiting for the next turn, until when (fetch/turns.Priority).
    Column("reserved_class", Integer, nullable=False, server_default="0"),
    Column("reserved_until", Float, nullable=False, server_default="0"),
)

# Each version's MinHash signature (store/copies.py) and its band keys, looked up by key.
copy_signatures = Table(
    "copy_signatures",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("shingles", Integer, nullable=False),
)

copy_keys = Table(
    "copy_keys",
    metadata,
    Column("key", Integer, primary_key=True),  # 32 bits of a band's hash; a collision only costs a lookup
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    sqlite_with_rowid=False,
)

# Related posts (store/related.py): each article's word vector, an inverted index of its
# heaviest words, and its current nearest articles.
related_vectors = Table(
    "related_vectors",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("vector", LargeBinary, nullable=False),  # word hashes and weights, unit length (Packed)
)

related_terms = Table(
    "related_terms",
    metadata,
    Column("term", Integer, primary_key=True),  # the word's 32-bit hash
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("weight", Float, nullable=False),
    sqlite_with_rowid=False,
)
Index("ix_related_terms_article_id", related_terms.c.article_id)

related_posts = Table(
    "related_posts",
    metadata,
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("related_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Float, nullable=False),
)
Index("ix_related_posts_related_id", related_posts.c.related_id)

# URLs submitted through the admin API: the site only queues them (it never writes the archive);
# the watcher or a worker takes each at first-sight priority and writes down how it went.
capture_requests = Table(
    "capture_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("claimed_by", String(100)),  # the worker capturing it now
    Column("claimed_until", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("status", String(20)),  # watch.capture.CaptureStatus, once finished
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("reason", String(40)),
    Column("message", Text),
    Column("http_status", Integer),
)
partial_index(
    "ix_capture_requests_queued", capture_requests.c.id, where=capture_requests.c.finished_at.is_(None)
)

# Articles that links led to, whose host could not be reached or resolved when they were first
# tried: set aside and tried again later in schedule time, a few times (watch/links.py).
set_aside_links = Table(
    "set_aside_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("depth", Integer, nullable=False),  # links away from what a source listed
    Column("account", Text),  # the account of the page that linked it (links.per_account_per_day)
    Column("set_aside_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),  # tries so far, the first included
    Column("next_try_at", UTCDateTime, nullable=False),
    Column("note", Text),  # why the last try failed
    Column("gave_up_at", UTCDateTime),  # out of tries: kept, with its note, for the operator
    Column("claimed_by", String(100)),
    Column("claimed_until", UTCDateTime),
)
partial_index(
    "ix_set_aside_links_due", set_aside_links.c.next_try_at, where=set_aside_links.c.gave_up_at.is_(None)
)

# The outbox of notifications: written in the same transaction as the check that declares a
# removal, a return or an edit, so that none is lost in a crash; delivered at least once to
# each target, with ``key`` as the receiver's idempotency key (watch/notify.py).
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),  # removed, restored, edited
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("message", Text),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_to", JSON),  # the targets that took it, so a retry skips them
    Column("delivered_at", UTCDateTime),  # every target took it
    Column("gave_up_at", UTCDateTime),  # out of attempts, or no target was configured
    Column("last_error", Text),
    Column("claimed_by", String(100)),
    Column("claimed_until", UTCDateTime),
)
partial_index(
    "ix_notifications_pending",
    notifications.c.next_attempt_at,
    where=notifications.c.delivered_at.is_(None) & notifications.c.gave_up_at.is_(None),
)

# The tamper-evident log (store/log.py, evidence/merkle.py): every assertion of the archive —
# a capture, a check that kept a page, a declared removal, a return, an edit — as an entry
# written with the rows it asserts; ``seq`` is its place in the Merkle tree, given later by the
# one sequencer, so that writers never wait for each other.
log_entries = Table(
    "log_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, unique=True),  # null until sequenced
    Column("kind", String(20), nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    Column("entry", Text, nullable=False),  # canonical JSON, hashed as its UTF-8 bytes
    Column("created_at", UTCDateTime, nullable=False),
)
partial_index("ix_log_entries_pending", log_entries.c.id, where=log_entries.c.seq.is_(None))
Index("ix_log_entries_article_id", log_entries.c.article_id)

# Every complete subtree of the log: 2**level leaves from leaf position * 2**level.
log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", Integer, primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("hash", LargeBinary, nullable=False),
)

# Signed tree heads: the log's size and root at a time, signed with the archive's key.
tree_heads = Table(
    "tree_heads",
    metadata,
    Column("size", BigInteger, primary_key=True),
    Column("root", LargeBinary, nullable=False),
    Column("signed_at", UTCDateTime, nullable=False),
    Column("key_id", String(64), nullable=False),  # SHA-256 of the raw public key, hex
    Column("signature", LargeBinary, nullable=False),
    Column("checkpoint", Text),  # the same head as a signed checkpoint note (evidence/checkpoints.py)
)

# Witnesses' cosignatures of the checkpoints: each a signature line (c2sp.org/tlog-cosignature)
# of a witness of the settings, checked before it is kept.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, ForeignKey("tree_heads.size", ondelete="CASCADE"), primary_key=True),
    Column("witness", Text, primary_key=True),  # the witness's key name
    Column("line", Text, nullable=False),
    Column("cosigned_at", UTCDateTime, nullable=False),  # the time the cosignature gives
)

# This archive as a witness of others (evidence/witness.py): each log it watches, pinned to its
# key, with the last checkpoint it cosigned; and what it refused, kept as evidence.
witnessed_logs = Table(
    "witnessed_logs",
    metadata,
    Column("origin", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("vkey", Text, nullable=False),
    Column("size", BigInteger),  # null until the first checkpoint is cosigned
    Column("root", LargeBinary),
    Column("checkpoint", Text),  # the last note cosigned, with this witness's line
    Column("checked_at", UTCDateTime),
)

witness_alerts = Table(
    "witness_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("origin", Text, nullable=False),
    Column("kind", String(20), nullable=False),  # rollback, fork, inconsistent, signature
    Column("detail", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: the head cosigned before, the one offered, the proof
    Column("raised_at", UTCDateTime, nullable=False),
)

# RFC 3161 tokens of the tree heads (evidence/timestamps.py): an authority's signed time of a
# head's signed bytes.
head_timestamps = Table(
    "head_timestamps",
    metadata,
    Column("size", BigInteger, ForeignKey("tree_heads.size", ondelete="CASCADE"), primary_key=True),
    Column("authority", Text, primary_key=True),
    Column("token", LargeBinary, nullable=False),
    Column("stamped_at", UTCDateTime, nullable=False),  # the time the token gives
)
