"""Accounts as things to watch: added by article URL, biz or gh_ id; their archived articles and
their albums attached (now and as later captures name albums); shown on the site, in the API
and by `samizdat account list`. Pages: the simulator's copies of the real saved pages
(src/samizdat/testing/pages/wechat/PROVENANCE.md), with its albums and links (linked=True)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.cli import app
from samizdat.store import open_archive
from samizdat.testing import Simulator
from samizdat.watch.polling import poll_sources
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import WECHAT, config_for, fast_archive_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def site():
    with Simulator(WECHAT, copies=3, linked=True) as sim:
        yield sim


def _cli(config: str, *args: str):
    result = CliRunner().invoke(app, ["--config", config, *args])
    # rich wraps lines at the terminal's width, in words and URLs alike
    return type("Run", (), {"exit_code": result.exit_code, "output": result.output.replace("\n", "")})


def test_an_account_added_by_an_article_url_brings_its_articles_and_albums(tmp_path, site):
    config = config_for(tmp_path, site)
    first = site.articles[0]
    added = _cli(config, "account", "add", site.base + first.path)
    assert added.exit_code == 0, added.output
    assert "added: account 1" in added.output and "1 archived articles" in added.output
    assert (
        "1 albums now watched" in added.output
        and f"album_id={site.album_url(first).rsplit('=', 1)[1]}" in added.output
    )
    again = _cli(config, "account", "add", first.biz)  # the same account, by its biz
    assert "already watched: account 1" in again.output

    settings = fast_archive_settings(tmp_path / "data", site)

    async def poll_all():
        async with pipeline(settings) as pipe:
            return await poll_sources(pipe, pipe.store.list_sources())

    reports, _ = asyncio.run(poll_all())
    members = [a for a in site.articles if a.biz == first.biz]
    assert [r.listed for r in reports] == [len(members)]
    listed = _cli(config, "account", "list")
    assert listed.exit_code == 0 and f"│ {len(members)} " in listed.output  # its articles, all archived

    store = open_archive(settings)
    account = store.find_account(first.biz)
    nickname = account.nickname
    assert nickname and account.user_name.startswith("gh_")
    store.engine.dispose()
    with running_site(create_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as client:
        api = client.get("/api/accounts").json()["accounts"]
        assert [a["biz"] for a in api] == [first.biz] and api[0]["articles"] == len(members)
        one = client.get(f"/api/accounts/{first.biz}").json()
        assert one["sources"][0]["kind"] == "listing" and one["sources"][0]["last_polled_at"]
        assert sum(month["articles"] for month in one["by_month"]) == len(members)
        page = client.get(f"/accounts/{nickname}", params={"lang": "en"})
        assert page.status_code == 200 and "Watched since" in page.text and "Sources (albums)" in page.text
        assert "archived, 0 removed" in page.text
        by_biz = client.get(f"/accounts/{first.biz}", params={"lang": "en"})
        assert by_biz.status_code == 200 and by_biz.text.count('class="article-item"') == len(members)
        assert client.get("/api/accounts/nobody").status_code == 404


def test_albums_named_by_later_captures_of_a_watched_account_become_its_sources(tmp_path, site):
    config = config_for(tmp_path, site)
    first = site.articles[0]
    assert _cli(config, "account", "add", first.biz).exit_code == 0  # nothing archived of it yet
    settings = fast_archive_settings(tmp_path / "data", site)

    async def follow_its_feed():
        async with pipeline(settings) as pipe:
            pipe.store.add_source(
                "feed", f"{site.base}/account/{first.biz}.xml", title=None, interval_seconds=60
            )
            await poll_sources(pipe, pipe.store.list_sources())
            return pipe.store.list_sources()

    sources = asyncio.run(follow_its_feed())
    albums = [s for s in sources if s["kind"] == "listing"]
    assert len(albums) == 1 and albums[0]["account_id"] == 1


def test_accounts_with_albums_off_and_names_that_are_no_account(tmp_path, site):
    config = config_for(tmp_path, site)
    first = site.articles[0]
    quiet = _cli(config, "account", "add", "--no-albums", site.base + first.path)
    assert quiet.exit_code == 0 and "albums now watched" not in quiet.output
    assert _cli(config, "source", "list").output.count("listing") == 0
    by_id = _cli(config, "account", "add", "gh_0123456789ab")
    assert by_id.exit_code == 0 and "user name gh_0123456789ab" in by_id.output
    for wrong in ("人民日报", "https://127.0.0.1:1/s?__biz=x"):
        refused = _cli(config, "account", "add", wrong)
        assert refused.exit_code == 1
        assert "names no account" in refused.output or "cannot read the account" in refused.output
    listed = tmp_path / "accounts.txt"
    listed.write_text(f"# the accounts of a study\n{first.biz}\ngh_0123456789ab  # again\n\nnot-an-account\n")
    bulk = _cli(config, "account", "add", "--from-file", str(listed))
    assert bulk.exit_code == 1  # one line names no account: said, and the others are added
    assert bulk.output.count("already watched") == 2 and "names no account" in bulk.output
