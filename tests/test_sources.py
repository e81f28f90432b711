"""The discover stage. Documents here are constructed in the formats' published shapes
(RSS 0.91/1.0/2.0, Atom 1.0, JSON Feed 1.1, sitemaps.org, OPML 2.0); the end-to-end test
reads the simulator's feed, sitemap and JSON Feed of the real sample articles."""

import json

import pytest
from typer.testing import CliRunner

from samizdat.cli import app
from samizdat.sources import NotASource, read_source, recognise
from tests.helpers import config_for

RSS2 = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>\xe5\x85\xac\xe4\xbc\x97\xe5\x8f\xb7</title>
<item><title>One</title><link>https://mp.weixin.qq.com/s/one</link><pubDate>Wed, 19 Jul 2023 08:00:00 GMT</pubDate></item>
<item><title>Two</title><link>/relative/two</link></item><item><title>no link</title></item></channel></rss>"""
RSS091 = b'<?xml version="1.0"?><rss version="0.91"><channel><title>old</title><item><title>a</title><link>http://a.example/1</link></item></channel></rss>'
RSS1 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://a.example/"><title>rdf</title></channel><item rdf:about="http://a.example/r1"><title>r1</title><link>http://a.example/r1</link></item></rdf:RDF>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>atom</title>
<entry><title>E</title><link rel="alternate" href="https://news.example/e"/><updated>2024-03-05T09:30:00Z</updated></entry></feed>"""
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "jf",
        "items": [
            {
                "id": "1",
                "url": "https://news.example/j1",
                "title": "J1",
                "date_published": "2024-01-02T03:04:05+08:00",
            },
            {"id": "2", "external_url": "https://elsewhere.example/j2"},
            {"id": "3"},
            "junk",
        ],
    }
).encode()
SITEMAP = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://news.example/a</loc><lastmod>2024-01-01</lastmod></url><url><loc> https://news.example/b </loc></url></urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example/s1.xml</loc></sitemap></sitemapindex>"""
OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>my feeds</title></head><body>
<outline text="group"><outline text="a" type="rss" xmlUrl="https://a.example/feed"/></outline>
<outline text="b" xmlUrl="https://b.example/atom"/><outline text="no url"/></body></opml>"""


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (RSS2, "feed"),
        (RSS091, "feed"),
        (RSS1, "feed"),
        (ATOM, "feed"),
        (JSON_FEED, "feed"),
        (SITEMAP, "sitemap"),
        (INDEX, "sitemap"),
        (OPML, "opml"),
        (b"\xef\xbb\xbfhttps://a.example/1\n# c\nhttp://b.example/2\n", "urls"),
    ],
)
def test_every_kind_is_recognised_from_its_bytes(body, kind):
    assert recognise(body) == kind


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html><body>hi</body></html>", "root is <html>"),
        (b'{"items": []}', "not a JSON Feed"),
        (b"{not json", "not valid JSON"),
        (b"hello\nworld", "URLs one per line"),
        (b"", "URLs one per line"),
    ],
)
def test_other_documents_are_refused_with_the_reason(body, why):
    with pytest.raises(NotASource, match=why):
        recognise(body)


def test_rss_entries_links_titles_and_dates():
    document = read_source(RSS2, "https://feeds.example/account.xml")
    assert document.title == "公众号"
    assert [e.url for e in document.entries] == [
        "https://mp.weixin.qq.com/s/one",
        "https://feeds.example/relative/two",
    ]
    assert document.entries[0].published_at.isoformat() == "2023-07-19T08:00:00+00:00"


def test_rss1_atom_and_json_feed_entries():
    assert [e.url for e in read_source(RSS1).entries] == ["http://a.example/r1"]
    (atom,) = read_source(ATOM).entries
    assert (atom.url, atom.title, atom.published_at.isoformat()) == (
        "https://news.example/e",
        "E",
        "2024-03-05T09:30:00+00:00",
    )
    jf = read_source(JSON_FEED)
    assert [e.url for e in jf.entries] == ["https://news.example/j1", "https://elsewhere.example/j2"]
    assert jf.entries[0].published_at.isoformat() == "2024-01-02T03:04:05+08:00"


def test_sitemaps_indexes_opml_and_url_lists():
    assert [e.url for e in read_source(SITEMAP).entries] == [
        "https://news.example/a",
        "https://news.example/b",
    ]
    assert read_source(INDEX).children == ("https://news.example/s1.xml",)
    opml = read_source(OPML)
    assert (opml.title, opml.children) == ("my feeds", ("https://a.example/feed", "https://b.example/atom"))
    urls = read_source(b"https://a.example/1\nhttps://a.example/1\n# note\nhttps://b.example/2\n")
    assert [e.url for e in urls.entries] == ["https://a.example/1", "https://b.example/2"]


def test_hostile_xml_entities_are_not_expanded():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c SYSTEM "file:///etc/passwd">]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.example/&b;&c;</loc></url></urlset>"""
    entries = read_source(bomb).entries
    assert all("root:" not in e.url and "aaaaaaaaaa" not in e.url for e in entries)


@pytest.mark.slow
def test_source_add_and_poll_against_the_simulator(tmp_path, simulator, database_url):
    config = config_for(tmp_path, simulator, database_url)
    runner = CliRunner()
    for path, kind in (
        ("/feed.xml", "feed"),
        ("/sitemap.xml", "sitemap"),
        ("/feed.json", "feed"),
        ("/urls.txt", "urls"),
    ):
        added = runner.invoke(app, ["--config", str(config), "source", "add", simulator.base + path])
        assert added.exit_code == 0, added.output
        assert f"({kind})" in added.output and f"{len(simulator.articles)} entries" in added.output
    listing = runner.invoke(app, ["--config", str(config), "source", "list"])
    assert listing.output.count("never") == 4
    first = runner.invoke(app, ["--config", str(config), "source", "poll"])
    assert first.exit_code == 0, first.output
    assert f"{len(simulator.articles)} new" in first.output  # the first source lists them all
    assert "0 new" in first.output  # the others list the same articles: nothing captured twice
    exported = runner.invoke(app, ["--config", str(config), "export"])
    assert len(exported.output.splitlines()) == len(simulator.articles)
    second = runner.invoke(app, ["--config", str(config), "source", "poll"])
    assert second.output.count("unchanged (304)") == 3  # feed, JSON Feed and sitemap index send ETags
    removed = runner.invoke(app, ["--config", str(config), "source", "remove", "1"])
    assert removed.exit_code == 0
    assert runner.invoke(app, ["--config", str(config), "source", "remove", "1"]).exit_code == 1


def test_adding_a_page_that_is_no_source_says_why(tmp_path, simulator):
    result = CliRunner().invoke(
        app,
        ["source", "add", simulator.article_urls()[0]],
        env={"SAMIZDAT_DATA_DIR": str(tmp_path), "SAMIZDAT_FETCH__ALLOW_PRIVATE_NETWORKS": "true"},
    )
    assert result.exit_code == 1
    assert "not a feed, sitemap or OPML" in " ".join(result.output.split())


def test_import_opml(tmp_path, database_url):
    opml = tmp_path / "feeds.opml"
    opml.write_bytes(OPML)
    env = {"SAMIZDAT_DATA_DIR": str(tmp_path / "data"), "SAMIZDAT_DATABASE__URL": database_url}
    result = CliRunner().invoke(app, ["source", "import-opml", str(opml)], env=env)
    assert "2 feeds added" in result.output
    again = CliRunner().invoke(app, ["source", "import-opml", str(opml)], env=env)
    assert "0 feeds added, 2 already there" in again.output


@pytest.mark.parametrize("kind", ["feed", "sitemap", "urls"])
def test_a_page_served_in_place_of_a_source_is_refused_not_read_as_an_empty_listing(kind):
    """A platform's verification page (the constructed notice beside the saved WeChat pages)
    answered for a feed parses as a feed without entries; read as one, every entry would
    seem to have left the listing. A genuine empty document of the kind is still read."""
    from samizdat.sources import SourceKind
    from tests.helpers import WECHAT

    page = (WECHAT / "notices" / "constructed" / "verification.html").read_bytes()
    with pytest.raises(NotASource, match="not a feed, sitemap or OPML"):
        read_source(page, "https://feeds.example/a.xml", SourceKind(kind))
    empty = {
        "feed": b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
        "sitemap": b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
        "urls": b"# no articles yet\n",
    }[kind]
    if kind == "urls":  # a list of no URLs shows no kind at all: refused, as a page would be
        with pytest.raises(NotASource):
            read_source(empty, "https://feeds.example/a.txt", SourceKind(kind))
    else:
        assert read_source(empty, "https://feeds.example/a.xml", SourceKind(kind)).entries == ()
