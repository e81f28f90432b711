"""Related posts, in the database: for each article, the few others nearest in what it says.

The vectors are :mod:`samizdat.relate.related`'s. Candidates come from an inverted index of
each article's :data:`INDEX_TERMS` heaviest words, looked up with the new article's
:data:`QUERY_TERMS` heaviest: the best :data:`CANDIDATES` by the index's partial score are
scored in full. The new article gets its :data:`KEEP` nearest; each of its :data:`OFFERED`
nearest takes it into its own list when it is nearer than that list's last. Copies of one
text (one cluster) are never related posts of each other: they are listed as copies.
``bench/related.py`` measures precision@5 on a labelled set against a plain TF-IDF baseline.

Computed after capture, by :func:`relate_pending` (``samizdat watch`` runs it in a process
of its own): a capture stays as fast as before, and a new version makes its article pending
again.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from samizdat.store.schema import articles, related_posts, related_terms, related_vectors, versions

INDEX_TERMS = 40
QUERY_TERMS = 100
CANDIDATES = 100
KEEP = 8
OFFERED = 3 * KEEP  # the nearest this many may take the new article into their lists


def relate_pending(engine: Engine, *, limit: int = 100) -> int:
    """Compute related posts for up to ``limit`` articles that have none for their latest
    version; how many were done. An article another process did meanwhile, or one the
    database was too busy for, is left to the next pass."""
    with engine.connect() as connection:
        pending = list(
            connection.scalars(
                select(articles.c.id)
                .outerjoin(related_vectors, related_vectors.c.article_id == articles.c.id)
                .where(related_vectors.c.article_id.is_(None))
                .order_by(articles.c.id)
                .limit(limit)
            )
        )
    done = 0
    for article_id in pending:
        try:
            with engine.begin() as connection:
                relate(connection, article_id)
            done += 1
        except (IntegrityError, OperationalError):
            continue  # done by another process meanwhile, or the database was busy: next pass
    return done


def relate(connection: Connection, article_id: int) -> None:
    """Index one article's words and find its related posts, updating its neighbours' lists."""
    # Here, not at the top: numpy and the vectors are the relating process's, and a command
    # that only reads an article (``samizdat show``) need not load them.
    from samizdat.relate.related import Packed, vector, word_hash

    row = connection.execute(
        select(articles.c.title, articles.c.cluster_id).where(articles.c.id == article_id)
    ).one()
    latest = connection.execute(
        select(versions.c.title, versions.c.text)
        .where(versions.c.article_id == article_id)
        .order_by(versions.c.id.desc())
        .limit(1)
    ).first()
    found = vector(latest.title if latest else row.title, latest.text if latest else "")
    packed = Packed.of(found)
    connection.execute(delete(related_terms).where(related_terms.c.article_id == article_id))
    connection.execute(
        delete(related_posts).where(
            (related_posts.c.article_id == article_id) | (related_posts.c.related_id == article_id)
        )
    )
    connection.execute(insert(related_vectors).values(article_id=article_id, vector=packed.to_bytes()))
    ranked = heapq.nlargest(QUERY_TERMS, found.items(), key=lambda item: item[1])
    if not ranked:
        return
    connection.execute(
        insert(related_terms),
        [
            {"term": word_hash(word), "article_id": article_id, "weight": w}
            for word, w in ranked[:INDEX_TERMS]
        ],
    )
    heaviest = [word_hash(word) for word, _ in ranked]
    partial = func.sum(related_terms.c.weight).label("partial")
    candidates = list(
        connection.scalars(
            select(related_terms.c.article_id)
            .where(related_terms.c.term.in_(heaviest), related_terms.c.article_id != article_id)
            .group_by(related_terms.c.article_id)
            .order_by(partial.desc())
            .limit(CANDIDATES)
        )
    )
    if not candidates:
        return
    others = connection.execute(
        select(related_vectors.c.article_id, related_vectors.c.vector, articles.c.cluster_id)
        .join(articles, articles.c.id == related_vectors.c.article_id)
        .where(related_vectors.c.article_id.in_(candidates))
    ).all()
    # Copies of this text are listed as copies, not as related posts.
    others = [o for o in others if row.cluster_id is None or o.cluster_id != row.cluster_id]
    scores = packed.cosines([Packed.from_bytes(o.vector) for o in others])
    scored = [(float(score), o.article_id) for score, o in zip(scores, others, strict=True) if score > 0]
    nearest = heapq.nlargest(OFFERED, scored)
    if nearest:
        connection.execute(
            insert(related_posts),
            [{"article_id": article_id, "related_id": other, "score": s} for s, other in nearest[:KEEP]],
        )
    _offer(connection, article_id, nearest)


def _offer(connection: Connection, article_id: int, scored: Sequence[tuple[float, int]]) -> None:
    """Put ``article_id`` into the lists of the older articles it is nearer to than their last."""
    others = [other for _, other in scored]
    lists: dict[int, list[tuple[float, int]]] = {other: [] for other in others}
    for row in connection.execute(
        select(related_posts.c.article_id, related_posts.c.score, related_posts.c.related_id).where(
            related_posts.c.article_id.in_(others)
        )
    ):
        lists[row.article_id].append((row.score, row.related_id))
    for score, other in scored:
        current = lists[other]
        if len(current) >= KEEP and score <= min(current)[0]:
            continue
        connection.execute(insert(related_posts).values(article_id=other, related_id=article_id, score=score))
        if len(current) >= KEEP:
            _, dropped = min(current)
            connection.execute(
                delete(related_posts).where(
                    related_posts.c.article_id == other, related_posts.c.related_id == dropped
                )
            )


def related_ids(connection: Connection, article_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each article's related posts, nearest first."""
    found: dict[int, list[int]] = {a: [] for a in article_ids}
    rows = connection.execute(
        select(related_posts.c.article_id, related_posts.c.related_id)
        .where(related_posts.c.article_id.in_(list(article_ids)))
        .order_by(related_posts.c.article_id, related_posts.c.score.desc(), related_posts.c.related_id)
    )
    for row in rows:
        found[row.article_id].append(row.related_id)
    return found


def forget(connection: Connection, article_ids: Sequence[int]) -> None:
    """A new version makes the article pending: its words are read again."""
    connection.execute(delete(related_vectors).where(related_vectors.c.article_id.in_(list(article_ids))))
