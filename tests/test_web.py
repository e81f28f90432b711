"""The reader site, API, feeds and Memento over a real archive: simulator pages (built from
src/samizdat/testing/pages/wechat, see PROVENANCE.md) captured, two of them removed and the removals
detected by the watcher, as in production."""

import asyncio
import contextlib
import dataclasses
import re
from datetime import UTC, datetime
from email.utils import format_datetime

import feedparser
import httpx
import pytest

from samizdat.app import pipeline
from samizdat.config import DatabaseSettings, WebSettings
from samizdat.testing import Simulator
from samizdat.web.app import create_app
from samizdat.web.server import running_site
from tests.helpers import WECHAT, declared, fast_archive_settings, fresh_postgres_database, watch_until


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory):
    """An archive of the 14 simulator articles; the first is removed for a violation, the second
    by its author. The site is tested over SQLite and over PostgreSQL."""
    directory = tmp_path_factory.mktemp("web")
    with contextlib.ExitStack() as stack:
        url = "" if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        sim = stack.enter_context(Simulator(WECHAT, copies=1))
        settings = fast_archive_settings(
            directory / "data", sim, database=DatabaseSettings(url=url), web=WebSettings(admin_token="s3cret")
        )

        async def build():
            async with pipeline(settings) as pipe:
                ids = [(await pipe.capturer.capture(sim.base + a.path)).article_id for a in sim.articles]
                sim.remove(sim.articles[0], "violation")
                sim.remove(sim.articles[1], "deleted-by-author")
                await watch_until(pipe, declared(2))
                return ids

        ids = asyncio.run(build())
        yield settings, ids, sim


@pytest.fixture(scope="module")
def client(archive):
    settings, _, _ = archive
    with running_site(create_app(settings)) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_home_lists_the_removals_with_their_reasons_in_the_reader_s_language(client, archive):
    _, ids, _ = archive
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200
    assert "因违规被平台删除" in zh.text and "被发布者删除" in zh.text
    assert (
        f"/articles/{ids[0]}" in zh.text and f"/articles/{ids[2]}" not in zh.text
    )  # live ones are not listed
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert "removed by the platform for a violation" in en.text and 'lang="en"' in en.text
    switched = client.get("/?lang=en")
    assert switched.cookies.get("lang") == "en"
    assert 'lang="en"' in client.get("/", headers={"Accept-Language": "zh"}).text  # the cookie wins
    client.cookies.clear()
    assert '<link rel="alternate" type="application/atom+xml"' in zh.text


def test_article_page_carries_the_banner_and_a_sanitized_body(client, archive):
    _settings, ids, _ = archive
    page = client.get(f"/articles/{ids[0]}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    banner = page.text[page.text.index('id="banner"') : page.text.index("</section>")]
    assert "removed by the platform for a violation" in banner
    assert "Detected removed:" in banner and "Last seen online:" in banner and "View original" in banner
    assert f"/raw/{ids[0]}/versions/" in banner and "The removal notice page" in banner
    body = page.text[page.text.index('id="article-body"') :]
    assert "<script" not in body.split("</article>")[0]
    assert page.headers["Memento-Datetime"].endswith("GMT")
    assert 'rel="timemap"' in page.headers["Link"]
    # The one script an article page runs is its own check of its proofs (static/verify.js).
    scripts = page.headers["Content-Security-Policy"].split("script-src ")[1].split(";")[0]
    static = f"{page.url.scheme}://{page.url.netloc.decode()}/static"
    assert scripts == f"{static}/verify.js {static}/noble.js"  # noble.js: Ed25519 where WebCrypto has none


def test_raw_cache_serves_the_capture_as_it_was_but_sandboxed(client, archive):
    _, ids, _sim = archive
    article = client.get(f"/api/articles/{ids[2]}").json()
    raw = client.get(article["versions"][-1]["links"]["raw"])
    assert raw.status_code == 200 and raw.headers["Memento-Datetime"].endswith("GMT")
    policy = raw.headers["Content-Security-Policy"]
    assert (
        policy.startswith("sandbox") and "allow-scripts" not in policy and "allow-same-origin" not in policy
    )
    assert "<script" in raw.text  # the page as captured, scripts included: the sandbox keeps them inert
    assert article["title"] in raw.text


def test_notice_evidence_is_served_from_the_archive(client, archive):
    _, ids, _ = archive
    checks = client.get(f"/api/articles/{ids[1]}").json()["checks"]
    evidence = [c["evidence"] for c in checks if c["outcome"] == "deleted_by_author" and c["evidence"]]
    assert evidence
    notice = client.get(evidence[-1])
    assert notice.status_code == 200 and "weui-msg" in notice.text


def test_api_lists_with_cursors_and_links(client, archive):
    _, ids, _ = archive
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/articles", params={"limit": 5, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    removed = client.get("/api/articles", params={"removed": True}).json()["items"]
    assert {i["id"]: i["status"] for i in removed} == {
        ids[0]: "removed_violation",
        ids[1]: "deleted_by_author",
    }
    assert set(removed[0]["links"]) >= {"html", "raw", "timemap"}
    assert client.get("/api/articles", params={"cursor": "garbage!"}).status_code == 400
    stats = client.get("/api/stats").json()
    assert stats["totals"]["removed"] == 2 and stats["totals"]["articles"] == len(ids)
    assert client.get("/api/openapi.json").json()["paths"]["/api/search"]


def test_admin_endpoints_need_the_operator_s_token(client, archive):
    _, _, sim = archive
    assert client.post("/api/captures", json={"urls": [sim.base + sim.articles[3].path]}).status_code == 401
    wrong = client.post("/api/captures", json={"urls": ["x"]}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    url = sim.base + sim.articles[3].path
    queued = client.post("/api/captures", json={"urls": [url]}, headers=auth)
    assert queued.status_code == 202  # the site only queues it: the watcher captures it
    (answer,) = queued.json()["captures"]
    assert answer["url"] == url and answer["state"] == "queued"
    assert queued.headers["location"] == answer["links"]["self"] == f"/api/captures/{answer['id']}"
    assert client.get(answer["links"]["self"]).status_code == 401
    assert client.get(answer["links"]["self"], headers=auth).json()["state"] == "queued"
    assert client.get("/api/captures/999999", headers=auth).status_code == 404
    mixed = client.post("/api/captures", json={"urls": ["file:///etc/passwd", url]}, headers=auth).json()
    assert [c["state"] for c in mixed["captures"]] == ["refused", "queued"]
    assert "only http and https" in mixed["captures"][0]["message"]


def test_search_finds_two_character_words_and_traditional_forms(client, archive):
    _, ids, _ = archive
    title = client.get(f"/api/articles/{ids[0]}").json()["title"]
    word = next(run for run in re.findall(r"[\u4e00-\u9fff]{2,}", title))[:2]
    found = client.get("/api/search", params={"q": word}).json()
    assert ids[0] in [i["id"] for i in found["items"]] and found["total"] >= 1
    assert word in found["items"][0]["snippet"] or word in found["items"][0]["title"]
    page = client.get("/", params={"q": word})
    assert "<mark>" in page.text and 'id="result-count"' in page.text


def test_feeds_parse_and_follow_the_filters(client, archive):
    _, ids, _ = archive
    everything = feedparser.parse(client.get("/feeds/removed.atom").content)
    assert not everything.bozo and len(everything.entries) == 2
    one = feedparser.parse(client.get("/feeds/removed.atom", params={"outcome": "deleted_by_author"}).content)
    assert [e.link for e in one.entries] == [f"{str(client.base_url).rstrip('/')}/articles/{ids[1]}"]


def parse_link_format(text):
    """RFC 6690 link-format: <uri>; attr="value"; ..., one link per comma (URIs carry no commas here)."""
    links = []
    for part in re.findall(r"<([^>]*)>((?:\s*;\s*[a-z]+=\"[^\"]*\")*)", text):
        uri, attributes = part
        links.append((uri, dict(re.findall(r'([a-z]+)="([^"]*)"', attributes))))
    return links


def test_timemap_and_timegate(client, archive):
    _, ids, _ = archive
    url = client.get(f"/api/articles/{ids[2]}").json()["url"]
    timemap = client.get(f"/timemap/link/{url}")
    assert timemap.headers["content-type"].startswith("application/link-format")
    links = parse_link_format(timemap.text)
    rels = {attrs["rel"] for _, attrs in links}
    assert {"original", "timegate", "self"} <= rels and any("memento" in r for r in rels)
    assert links[0][0] == url
    gate = client.get(
        f"/timegate/{url}",
        headers={"Accept-Datetime": format_datetime(datetime(2030, 1, 1, tzinfo=UTC), usegmt=True)},
        follow_redirects=False,
    )
    assert gate.status_code == 302 and f"/articles/{ids[2]}?version=" in gate.headers["location"]
    assert gate.headers["vary"] == "accept-datetime"
    assert client.get("/timemap/link/https://example.org/never").status_code == 404


def test_the_reference_memento_client_negotiates_and_the_timemap_lists_the_notices(client, archive):
    """memento_client (the Memento project's own) asks with HEAD and follows the TimeGate; the
    TimeMap lists the removal notices the checks kept beside the article's versions."""
    import requests
    from memento_client import MementoClient

    _, ids, sim = archive
    removed = ids[0]  # removed for a violation: a version, then the notice pages of its checks
    url = sim.base + sim.articles[0].path
    base = str(client.base_url).rstrip("/")
    links = parse_link_format(client.get(f"/timemap/link/{url}").text)
    mementos = [(uri, attrs) for uri, attrs in links if "memento" in attrs["rel"]]
    assert f"/articles/{removed}?version=" in mementos[0][0]
    assert f"/raw/{removed}/checks/" in mementos[-1][0] and len(mementos) >= 3
    for uri, _ in mementos:
        head = client.head(uri.removeprefix(base))
        assert head.status_code == 200 and head.headers["memento-datetime"] and not head.content
    assert client.head(f"/timemap/link/{url}").status_code == 200
    gate = client.head(f"/timegate/{url}", follow_redirects=False)
    assert gate.status_code == 302 and gate.headers["vary"] == "accept-datetime"

    # The original is the simulator's page: the client is handed its (empty) headers instead of
    # asking the simulator for them.
    original = requests.Response()
    original.status_code = 200
    with MementoClient(timegate_uri=base + "/timegate/", check_native_timegate=False) as memento:
        info = memento.get_memento_info(url, datetime(2030, 1, 1), req_uri_response=original)
        first = memento.get_memento_info(url, datetime(2000, 1, 1), req_uri_response=original)
    assert info["mementos"]["closest"]["uri"][0] == mementos[-1][0]  # now: the removal notice
    assert first["mementos"]["closest"]["uri"][0] == mementos[0][0]  # before: the article itself


def test_stats_and_account_pages_render(client, archive):
    _, ids, _ = archive
    stats = client.get("/stats", headers={"Accept-Language": "en"})
    assert stats.status_code == 200 and "<svg" in stats.text
    account = client.get(f"/api/articles/{ids[0]}").json()["account"]
    page = client.get(f"/accounts/{account}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "removed (" in page.text
    assert client.get("/articles/999999").status_code == 404


def test_wacz_packages_validate_and_hold_the_evidence(client, archive, tmp_path):
    import subprocess
    import sys
    import zipfile

    _, ids, _ = archive
    download = client.get(f"/articles/{ids[0]}.wacz")
    assert download.status_code == 200 and download.headers["content-type"] == "application/wacz+zip"
    package = tmp_path / "article.wacz"
    package.write_bytes(download.content)
    wacz = [sys.executable, "-c", "import sys; from wacz.main import main; sys.exit(main())"]
    checked = subprocess.run([*wacz, "validate", "-f", str(package)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(package) as archive_zip:
        index = archive_zip.read("indexes/index.cdx").decode()
    assert index.count("\n") >= 2  # the capture and the removal notice kept as evidence
    searched = client.get(
        "/search.wacz", params={"q": client.get(f"/api/articles/{ids[2]}").json()["title"][:2]}
    )
    assert searched.status_code == 200 and zipfile.is_zipfile(__import__("io").BytesIO(searched.content))


def test_images_come_from_the_archive_never_from_the_platform(client, archive):
    _, ids, sim = archive
    for article_id in ids:
        page = client.get(f"/articles/{article_id}").text
        body = page[page.index('id="article-body"') : page.index("</article>")]
        sources = re.findall(r'<img[^>]*src="([^"]+)"', body)
        if sources:
            break
    assert sources and all(src.startswith("/blobs/") for src in sources)
    assert all(" alt=" in tag for tag in re.findall(r"<img[^>]*>", body))
    assert sim.host not in body
    image = client.get(sources[0])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and image.headers["content-security-policy"].startswith(
        "sandbox"
    )
    assert client.get("/blobs/" + "0" * 64).status_code == 404


def test_home_filters_by_outcome_account_and_dates(client, archive):
    _, ids, _ = archive
    only = client.get("/", params={"outcome": "removed_violation"}).text
    assert f"/articles/{ids[0]}" in only and f"/articles/{ids[1]}" not in only
    account = client.get(f"/api/articles/{ids[1]}").json()["account"]
    by_account = client.get("/", params={"account": account}).text
    assert f"/articles/{ids[1]}" in by_account and f'/articles/{ids[0]}"' not in by_account
    assert f"/articles/{ids[0]}" not in client.get("/", params={"until": "2001-01-01"}).text
    assert f"/articles/{ids[0]}" in client.get("/", params={"since": "2001-01-01"}).text
    everything = client.get("/", params={"all": "true"}).text
    assert all(f'/articles/{i}"' in everything for i in ids)


def test_every_response_carries_the_security_headers(client, archive):
    _, ids, sim = archive
    page = client.get(f"/articles/{ids[2]}").text
    blob = re.search(r'src="(/blobs/[0-9a-f]{64})"', page) or re.search(r'"(/blobs/[0-9a-f]{64})"', page)
    paths = [
        "/",
        "/?q=%E5%8C%97%E7%BA%A6",
        f"/articles/{ids[0]}",
        f"/articles/{ids[0]}/versions",
        f"/raw/{ids[0]}",
        "/api/articles",
        "/api/search?q=ab",
        "/api/stats",
        "/feeds/removed.atom",
        "/stats",
        "/stats.csv",
        f"/timemap/link/{sim.base}{sim.articles[0].path}",
        "/static/style.css",
        "/no/such/page",
        "/api/articles/999999",
        *([blob.group(1)] if blob else []),
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        headers = response.headers
        policy = headers["content-security-policy"]
        scripts = policy.split("script-src ")[1].split(";")[0] if "script-src" in policy else ""
        assert scripts == "'none'" or scripts.endswith("/static/noble.js") or policy.startswith("sandbox"), (
            path
        )
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer", path


@pytest.mark.parametrize(
    "path",
    [
        "/blobs/../../samizdat.db",
        "/blobs/..%2f..%2fsamizdat.db",
        "/blobs/%2e%2e%2f%2e%2e%2fsamizdat.db",
        "/static/../../samizdat.db",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/raw/1/versions/..%2f..%2f..%2fetc%2fpasswd",
        "/raw/..%2f..%2fsamizdat.db",
        "/articles/..%2f..%2fsamizdat.db.wacz",
        "/timemap/link/file:///etc/passwd",
        "/timegate/file:///etc/passwd",
        "/search.wacz?q=..%2f..%2fsamizdat.db",
    ],
)
def test_no_route_serves_a_file_outside_the_archive(client, path):
    response = client.get(path)
    assert response.status_code in (200, 400, 404, 405, 422), path
    assert b"SQLite format 3" not in response.content and b"root:x:0:0" not in response.content
    if response.status_code == 200:  # only the search package, of what matches the words
        assert response.headers["content-type"].startswith("application/wacz")


def test_searches_are_limited_per_client_and_nothing_else_is(archive):
    settings, ids, _ = archive
    limited = dataclasses.replace(
        settings, web=dataclasses.replace(settings.web, search_per_minute=6, search_burst=2)
    )
    with running_site(create_app(limited)) as base, httpx.Client(base_url=base, timeout=30) as client:
        allowed = [client.get("/api/search", params={"q": "北约"}).status_code for _ in range(2)]
        refused = client.get("/", params={"q": "北约"})
        others = [client.get(f"/articles/{ids[0]}").status_code for _ in range(5)]
    assert allowed == [200, 200] and refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1 and refused.headers["x-content-type-options"] == "nosniff"
    assert others == [200] * 5


@pytest.mark.slow
def test_submitted_urls_never_reach_private_addresses(archive):
    """SSRF through the admin API: with the default fetch settings (private networks refused),
    nothing submitted reaches the simulator on loopback, by address, name or scheme."""
    settings, _, sim = archive
    strict = dataclasses.replace(
        settings, fetch=dataclasses.replace(settings.fetch, allow_private_networks=False)
    )
    port = sim.base.rsplit(":", 1)[1]
    vectors = [
        f"http://127.0.0.1:{port}/s?__biz=x&mid=1&idx=1",
        f"http://localhost:{port}/s",
        f"http://[::1]:{port}/s",
        f"http://0.0.0.0:{port}/s",
        f"http://127.1:{port}/s",
        f"http://2130706433:{port}/s",
        "http://10.0.0.1/s",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fc00::1]/s",
        "http://[::ffff:127.0.0.1]/s",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ]
    before = len(sim.requests)
    auth = {"Authorization": "Bearer s3cret"}
    with running_site(create_app(strict)) as base, httpx.Client(base_url=base, timeout=30) as client:
        submitted = client.post("/api/captures", json={"urls": vectors}, headers=auth)
        sources = [
            client.post("/api/sources", json={"url": url}, headers=auth).status_code for url in vectors
        ]
    assert submitted.status_code == 422  # refused before anything is queued
    assert [c["state"] for c in submitted.json()["captures"]] == ["refused"] * len(vectors)
    assert sources == [422] * len(vectors)
    assert len(sim.requests) == before  # the simulator on loopback saw none of it
