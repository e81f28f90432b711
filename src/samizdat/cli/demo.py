"""The offline demo and the platform simulator it runs against."""

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from samizdat.cli.base import app, console, errors, settings_of

if TYPE_CHECKING:
    from samizdat.config import Settings

DEMO_TIME_SCALE = 3600.0


DEMO_SECONDS = 30.0


@app.command()
def demo(
    ctx: typer.Context,
    copies: Annotated[int, typer.Option(help="Distinct copies of each sample article to serve.")] = 3,
    pages: Annotated[
        Path | None, typer.Option(help="Pages to serve (default: the WeChat pages shipped with samizdat).")
    ] = None,
    serve_site: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site on web.port afterwards, until Ctrl-C.")
    ] = True,
) -> None:
    """Offline demo: start from one album and one article link on the local simulator, capture
    what they lead to, watch the simulator remove articles, show the site."""
    import asyncio

    from samizdat.cli.archive import relate_command
    from samizdat.cli.articles import capture
    from samizdat.cli.watching import serve
    from samizdat.config import PlatformSettings
    from samizdat.testing import Simulator

    settings = settings_of(ctx)
    try:
        simulator = Simulator(pages, copies=copies, linked=True)
    except FileNotFoundError as exc:
        errors.print(str(exc))
        raise typer.Exit(2) from None
    with simulator:
        wechat = settings.platforms.get("wechat") or PlatformSettings()
        settings = replace(
            settings,
            fetch=replace(settings.fetch, allow_private_networks=True),
            platforms={
                **settings.platforms,
                "wechat": replace(wechat, hosts=(*wechat.hosts, simulator.host)),
            },
            # the demo runs in simulated time: one hour a second
            watch=replace(settings.watch, time_scale=DEMO_TIME_SCALE),
        )
        console.print(f"simulator serving {len(simulator.articles)} articles at {simulator.base}")
        ctx.obj = settings
        captured = asyncio.run(_demo_discover(settings, simulator))
        capture(
            ctx,
            urls=[f"{simulator.base}/notice/{name}" for name in simulator.notices],
            from_file=None,
            workers=1,
        )
        removals = list(
            zip(captured[:3], ("deleted-by-author", "violation", "multiple-complaints"), strict=False)
        )
        for article, notice in removals:
            simulator.remove(article, notice)
        console.print(
            f"the simulator now removes {len(removals)} articles; watching in simulated time "
            "(one hour a second) until each removal is confirmed…"
        )
        # Besides those: the linked articles a first sight found removed already await their
        # confirmation too.
        expected = len(removals) + _awaiting_confirmation(settings)
        declared = asyncio.run(_demo_watch(settings, expected))
        console.print(f"{declared} of {expected} removals detected and confirmed")
    relate_command(ctx)
    console.print(f"archive in {settings.data_dir}: try `samizdat show 1` or `samizdat export`")
    if serve_site:
        serve(ctx, host=None, port=None)


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    copies: Annotated[int, typer.Option(help="Distinct copies of each sample article to serve.")] = 3,
    pages: Annotated[
        Path | None, typer.Option(help="Pages to serve (default: the WeChat pages shipped with samizdat).")
    ] = None,
    timeline: Annotated[
        bool, typer.Option(help="Publish, remove and edit articles over simulated time (real removal data).")
    ] = False,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
    publish_hours: Annotated[
        float, typer.Option(help="Publications spread over this many simulated hours.")
    ] = 24.0,
    removed_share: Annotated[float, typer.Option(help="Share of articles that will be removed.")] = 0.2,
    edited_share: Annotated[float, typer.Option(help="Share of articles that will be edited.")] = 0.02,
    seed: Annotated[int, typer.Option(help="Seed of the timeline's random draws.")] = 0,
    rate_limit: Annotated[
        float, typer.Option(help="Article requests/s above which a verification page is shown (0: none).")
    ] = 0.0,
    rate_limit_per_address: Annotated[
        float,
        typer.Option(help="The same for each client address apart (127.0.0.2, … are this machine's)."),
    ] = 0.0,
    log: Annotated[Path | None, typer.Option(help="Append every request to this JSON-lines file.")] = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Write each article's fate (the ground truth) here.")
    ] = None,
    listings_keep_removed: Annotated[
        bool,
        typer.Option(help="Feeds and sitemaps keep listing removed articles (a caching RSS bridge)."),
    ] = False,
    account_entries: Annotated[int, typer.Option(help="Newest articles listed by each account's feed.")] = 50,
    account_feeds: Annotated[
        str, typer.Option(help="Which feeds accounts.opml names: xml (RSS 2.0) or json (JSON Feed).")
    ] = "xml",
    articles: Annotated[int, typer.Option(help="Serve only this many of the copies (0: all).")] = 0,
    accounts: Annotated[
        int, typer.Option(help="Spread the articles over this many account feeds (0: one per biz).")
    ] = 0,
    fault_rate: Annotated[
        float,
        typer.Option(help="Share of article and feed requests that fail: 503, verification page, cut body."),
    ] = 0.0,
    start_in: Annotated[
        float, typer.Option(help="Real seconds before the timeline's clock starts (time to set up).")
    ] = 0.0,
    asset_host: Annotated[
        str,
        typer.Option(help="Host name of the image hosts' assets (localhost: a budget of their own)."),
    ] = "",
    linked: Annotated[
        bool,
        typer.Option(help="Articles link earlier ones of their album, one of another account, their album."),
    ] = False,
    pictures: Annotated[
        bool, typer.Option(help="Images are screenshots with text (for OCR), not 1-pixel PNGs.")
    ] = False,
    links_elsewhere: Annotated[
        bool,
        typer.Option(
            help="The saved pages' links to other articles stay on mp.weixin.qq.com, as on the platform."
        ),
    ] = False,
) -> None:
    """Serve the local WeChat simulator until interrupted (for demos and benchmarks)."""
    import signal
    import threading

    from samizdat.testing import Simulator
    from samizdat.testing.timeline import plan, real_removals, save_plan

    try:
        simulator = Simulator(
            pages,
            copies=copies,
            port=port,
            time_scale=time_scale,
            rate_limit=rate_limit,
            rate_limit_per_address=rate_limit_per_address,
            log_path=log,
            listings_keep_removed=listings_keep_removed,
            account_entries=account_entries,
            account_feeds=account_feeds,
            articles=articles,
            accounts=accounts,
            fault_rate=fault_rate,
            fault_seed=seed,
            start_in=start_in,
            asset_host=asset_host,
            linked=linked,
            pictures=pictures,
            links_elsewhere=links_elsewhere,
        )
    except (FileNotFoundError, ValueError) as exc:
        errors.print(str(exc))
        raise typer.Exit(2) from None
    if timeline:
        fates = plan(
            len(simulator.articles),
            real_removals(),
            publish_over=publish_hours * 3600,
            removed_share=removed_share,
            edited_share=edited_share,
            seed=seed,
        )
        simulator.set_fates(fates)
    with simulator:
        if plan_file and timeline:
            save_plan(plan_file, [a.path for a in simulator.articles], fates, simulator.started, time_scale)
        # The first line is for programs that start the simulator: they read the address from it.
        print(f"serving {len(simulator.articles)} articles at {simulator.base}", flush=True)
        print(f"article URLs: {simulator.base}/urls.txt", flush=True)
        print(f"albums: {simulator.base}/albums.txt", flush=True)
        # SIGTERM ends the wait like Ctrl-C, so the request log is flushed and closed.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


async def _demo_discover(settings: "Settings", simulator) -> list:
    """From one album and one article link (as a researcher starts: an account's article), what
    the archive reaches: the album's articles, the article's account and its album, and the
    articles they link to. The simulator's articles it captured, in its order."""
    from samizdat.app import pipeline
    from samizdat.platforms.wechat.links import article_link
    from samizdat.store import open_archive
    from samizdat.watch.accounts import add_account
    from samizdat.watch.polling import add_source, poll_sources

    first, other = (
        simulator.articles[0],
        next(a for a in simulator.articles if a.biz != simulator.articles[0].biz),
    )
    store = open_archive(settings)
    try:
        album = await add_source(settings, store, simulator.album_url(first), interval_seconds=3600)
        console.print(f"source: album {album[0].url} ({album[0].listed} articles)")
        account = await add_account(settings, store, simulator.base + other.path)
        console.print(
            f"account: {account.account.name}, from one of its articles; its albums: {len(account.sources)}"
        )
    finally:
        store.engine.dispose()
    async with pipeline(settings) as pipe:
        reports, captures = await poll_sources(pipe, pipe.store.list_sources())
        # Listed by an album, an article's URL is in the album's form; given, in the simulator's.
        forms = {
            a.token: (simulator.base + a.path, article_link(simulator.base + a.path, simulator.base))
            for a in simulator.articles
        }
        captured = [
            a
            for a in simulator.articles
            if any(url and pipe.store.article_id_for_url(url) for url in forms[a.token])
        ]
    console.print(
        f"{sum(r.new for r in reports)} articles listed by {len(reports)} albums; {len(captures)} captured "
        f"with the articles they link to (links.depth = {settings.links.depth})"
    )
    return captured


def _awaiting_confirmation(settings: "Settings") -> int:
    from sqlalchemy import func, select

    from samizdat.store import open_archive
    from samizdat.store.schema import articles

    store = open_archive(settings)
    try:
        with store.engine.connect() as connection:
            return connection.scalar(select(func.count()).where(articles.c.state == "suspect")) or 0
    finally:
        store.engine.dispose()


async def _demo_watch(settings: "Settings", expected: int) -> int:
    import asyncio
    import time

    from samizdat.app import pipeline
    from samizdat.cli.watching import print_news
    from samizdat.watch.loop import watch_pass

    declared = 0
    deadline = time.monotonic() + DEMO_SECONDS
    async with pipeline(settings) as pipe:
        while declared < expected and time.monotonic() < deadline:
            for found in await watch_pass(pipe.store, pipe.checker, settings.fetch.total_concurrency):
                declared += found.declared
                print_news(found)
            await asyncio.sleep(0.1)
    return declared
