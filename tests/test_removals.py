"""Importing a removal dataset and the statistics over it.

The dataset is src/samizdat/testing/pages/removals/wechatscope-removals-2018-2020.csv.gz: 17,411 removals
recorded by a public research monitor (a mirror of Wechatscope's data, Terminus2049/Wechatscope,
ceninfo.csv). The expected figures are computed here from the CSV itself, with nothing of samizdat.
"""

import csv
import gzip
import io
import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from typer.testing import CliRunner

from samizdat.cli import app
from samizdat.config import DatabaseSettings, KeywordSettings, Settings
from samizdat.read.reader import Reader
from samizdat.read.statistics import to_csv
from samizdat.sources.removals import RemovalDatasetError, read_removals
from samizdat.store import open_store
from samizdat.testing import REMOVALS
from samizdat.watch.imports import import_removals
from samizdat.web.app import create_app
from samizdat.web.server import running_site

DATASET = REMOVALS
HKT = timezone(timedelta(hours=8))
# The dataset's messages, by the outcome they name (read off the file by hand).
MESSAGES = {
    "该内容已被发布者删除": "deleted_by_author",
    "The content has been deleted by the author.": "deleted_by_author",
    "此内容因违规无法查看": "removed_violation",
    "Unable to view this content because it violates regulations": "removed_violation",
    "此帐号已被屏蔽,": "account_gone",
    "该公众号已迁移": "account_gone",
    "此内容被投诉且经审核涉嫌侵权，无法查看。": "removed_complaint",
    "此内容被多人投诉，相关的内容无法进行查看。": "removed_complaint",
}


def dataset_rows():
    return list(csv.DictReader(io.StringIO(gzip.decompress(DATASET.read_bytes()).decode("utf-8"))))


def hours(row) -> float:
    published = datetime.strptime(row["created_at"], "%Y-%m-%d").replace(tzinfo=HKT)
    removed = datetime.strptime(row["censored_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=HKT)
    return (removed - published).total_seconds() / 3600


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path):
    from samizdat.config import DatabaseSettings

    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=url),
        keywords=KeywordSettings(terms=("疫情", "香港", "武汉")),
    )


@pytest.mark.slow
def test_statistics_of_an_imported_dataset_reproduce_its_own_shares(settings):
    rows = dataset_rows()
    store = open_store(settings.database_url)
    report = import_removals(settings, store, DATASET, platform="wechat", tz=HKT)
    assert report.rows == report.added == len(rows) == 17411 and not report.unrecognised

    groups = Reader(store.engine).breakdowns()
    expected_mix = Counter(MESSAGES[row["censored_msg"]] for row in rows)
    assert {g.name: g.removed for g in groups["outcome"]} == expected_mix
    assert {g.name: g.removal_rate for g in groups["outcome"]} == {
        name: count / len(rows) for name, count in expected_mix.items()
    }
    (everything,) = groups["all"]
    assert everything.quantile(0.5) == statistics.median(hours(row) for row in rows)
    for outcome in expected_mix:
        by_outcome = next(g for g in groups["outcome"] if g.name == outcome)
        assert by_outcome.quantile(0.5) == statistics.median(
            hours(row) for row in rows if MESSAGES[row["censored_msg"]] == outcome
        )
    accounts = Counter(row["nickname"] for row in rows)
    assert [(g.name, g.removed) for g in groups["account"][:5]] == accounts.most_common(5)
    months = Counter(row["created_at"][:7] for row in rows)
    assert {g.name: g.articles for g in groups["month"]} == months

    # Keywords match titles in simplified and traditional forms, and through the separators
    # the titles use to evade filters ("香·港", "香 港", "香″港", "武/汉", read off the file).
    for term, traditional in (("疫情", "疫情"), ("香港", "香港"), ("武汉", "武漢")):
        plain = [row["title"] for row in rows if term in row["title"] or traditional in row["title"]]
        evasive = [
            row["title"]
            for row in rows
            if any(form in re.sub(r"[\s·″/]", "", row["title"]) for form in (term, traditional))
        ]
        keyword = next(g for g in groups["keyword"] if g.name == term)
        assert keyword.removed == len(evasive) > 0
        assert len(evasive) > len(plain) or term == "疫情"

    # Importing again adds nothing; the duplicate archive names stay separate records.
    again = import_removals(settings, store, DATASET, platform="wechat", tz=HKT)
    assert again.rows == 17411 and again.added == 0


@pytest.mark.slow
def test_the_statistics_page_and_csv_show_the_breakdowns(tmp_path, database_url):
    settings = Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=database_url))
    store = open_store(settings.database_url)
    import_removals(settings, store, DATASET, platform="wechat", tz=HKT)
    with running_site(create_app(settings, store)) as base, httpx.Client(base_url=base) as client:
        page = client.get("/stats", headers={"Accept-Language": "en"}).text
        by_outcome = client.get("/stats.csv", params={"by": "outcome"})
        refused = client.get("/stats.csv", params={"by": "colour"})
        api = client.get("/api/stats").json()
        first = client.get("/articles/1", headers={"Accept-Language": "en"}).text
    assert "By reason of removal" in page and "By month of publication" in page and "71.5%" in page
    assert page.count("<svg") >= 4 and "Median hours to removal, by reason" in page
    assert "median time from publication to removal: 46.7 hours" in page
    assert by_outcome.headers["content-type"].startswith("text/csv")
    assert by_outcome.text == to_csv(Reader(store.engine).breakdowns()["outcome"], "outcome")
    assert by_outcome.text.splitlines()[1].startswith("deleted_by_author,17411,12450,0.715065,")
    assert refused.status_code == 400
    assert api["by"]["outcome"][0]["name"] == "deleted_by_author"
    assert "From an imported removal dataset" in first and 'href="urn:' not in first


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_that_does_not_read_whole_is_refused_with_the_line_and_the_reason(tmp_path):
    missing = write(tmp_path / "a.csv", "title,nickname,created_at\nx,y,2020-01-01\n")
    with pytest.raises(RemovalDatasetError, match=r"no column for removed \(censored_date or removed_at"):
        list(read_removals(missing, tz=HKT))
    bad_date = write(
        tmp_path / "b.csv",
        "title,nickname,created_at,censored_date,censored_msg\nx,y,2020-01-01,2020-01-02 10:00:00,m\n"
        "x,y,yesterday,2020-01-02 10:00:00,m\n",
    )
    with pytest.raises(RemovalDatasetError, match=r"line 3: the publication date 'yesterday' is not a date"):
        list(read_removals(bad_date, tz=HKT))
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), "import-removals", str(bad_date)])
    assert result.exit_code == 2 and "line 3" in result.output
    offset = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "data"), "import-removals", str(bad_date), "--utc-offset", "Mars"]
    )
    assert offset.exit_code == 2 and "+08:00" in offset.output
    store = open_store(Settings(data_dir=tmp_path / "data").database_url)
    assert store.counts()["articles"] == 0


def test_gbk_files_and_other_column_names_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(
        "title,account,published_at,removed_at,message\n"
        "标题,账号,2020-02-01 08:00:00+08:00,2020-02-02 08:00:00+08:00,此内容因违规无法查看\n".encode("gbk")
    )
    (row,) = read_removals(path, tz=UTC)
    assert (row.title, row.account, row.published_precision) == ("标题", "账号", "second")
    assert row.removed_at - row.published_at == timedelta(days=1) and row.key == "line-2"
