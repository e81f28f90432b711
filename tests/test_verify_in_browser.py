"""In headless Chromium (Debian's, driven by Playwright): an article page checks itself in the
reader's browser (static/verify.js) — the text against its capture's log entry, the entries'
inclusion proofs, the checkpoint's signature and the witnesses' cosignatures — on the site, in
the mirror over HTTP and from file://, with no request outside the page's own files; and the same
page with one changed byte of its text, a proof from another head, or a checkpoint short of the
witnesses it asks for says so."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright import sync_api as playwright
from typer.testing import CliRunner

from samizdat.app import pipeline
from samizdat.cli import app
from samizdat.config import WitnessSettings
from samizdat.store import open_archive
from samizdat.testing import Simulator
from samizdat.web.app import create_app
from samizdat.web.mirror.layout import mirror_file
from samizdat.web.server import running_site
from tests.helpers import WECHAT, fast_archive_settings, missing

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    missing(f"no Chromium at {CHROMIUM}: apt-get install chromium", module=True)


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory):
    """An archive whose two witnesses cosigned its log, its site, and its mirror."""
    root = tmp_path_factory.mktemp("verify")
    witnesses = [root / "bremen", root / "cairo"]
    vkeys = tuple(run(path, "witness", "key").strip() for path in witnesses)
    with Simulator(WECHAT, copies=1) as sim:
        settings = fast_archive_settings(
            root / "archive", sim, witnesses=WitnessSettings(keys=vkeys, quorum=2)
        )

        async def capture(articles):
            async with pipeline(settings) as pipe:  # sealed as it closes: a head each time
                for article in articles:
                    await pipe.capturer.capture(sim.base + article.path)

        with concurrent.futures.ThreadPoolExecutor(1) as thread:  # Playwright's loop is not ours
            thread.submit(lambda: asyncio.run(capture(sim.articles[:2]))).result()
            with running_site(create_app(settings)) as site:
                key = json.loads(run(settings.data_dir, "log", "key"))["public_key"]
                for path in witnesses:
                    run(path, "witness", "add", site, "--key", key)
                    assert "handed back" in run(path, "witness", "run")
                thread.submit(lambda: asyncio.run(capture(sim.articles[2:3]))).result()  # an uncosigned head
                named = {"SAMIZDAT_WITNESSES__KEYS": ",".join(vkeys), "SAMIZDAT_WITNESSES__QUORUM": "2"}
                run(settings.data_dir, "mirror", "build", str(root / "mirror"), "--no-search", env=named)
                yield settings, site, root / "mirror"


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def static_host(witnessed):
    _, _, mirror = witnessed

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(mirror)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def verdict(browser, url: str, before: str = "") -> tuple[str, str, list[str], list[str]]:
    """The page's verification state, its verdict, the checks that failed, and every request
    it made (``before``: a script run before the page's own)."""
    page = browser.new_context(locale="en-GB").new_page()
    if before:
        page.add_init_script(before)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_function("document.getElementById('verification').dataset.state !== 'pending'")
    state = page.get_attribute("#verification", "data-state")
    page.context.crypto_used = page.get_attribute("#verification", "data-crypto")
    result = page.inner_text("#verification-result")
    failed = page.locator("#verification-checks li.fails").all_inner_texts()
    page.context.close()
    return state, result, failed, requests


def test_an_article_page_verifies_itself_on_the_site_and_in_the_mirror(witnessed, browser, static_host):
    _, site, mirror = witnessed
    name = mirror_file("/articles/1", "en")
    for url, prefix in (
        (f"{site}/articles/1?lang=en", site),
        (static_host + name, static_host),
        ((mirror / name).as_uri(), mirror.as_uri()),
    ):
        state, result, failed, requests = verdict(browser, url)
        assert state == "verified" and failed == [], (url, result, failed)
        assert result.startswith(
            "Verified: this article is in the archive's signed log, cosigned by 2 witnesses"
        )
        assert all(r.startswith(prefix) for r in requests), requests  # nothing from elsewhere

    # The third article is only under a head no witness has cosigned yet: the page says so.
    state, result, failed, _ = verdict(browser, f"{site}/articles/3?lang=en")
    assert state == "unwitnessed" and failed == []
    assert "0 witnesses cosigned where 2 are needed" in result


def _changed(page: str, element: str, change) -> str:
    """``page`` with the JSON of its script element ``element`` changed by ``change``."""
    pattern = re.compile(f'(<script type="application/json" id="{element}">)(.*?)(</script>)', re.S)
    found = pattern.search(page)
    document = change(json.loads(found.group(2)))
    encoded = json.dumps(document).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return page[: found.start(2)] + encoded + page[found.end(2) :]


def test_a_changed_page_says_what_does_not_hold(witnessed, browser):
    settings, _, mirror = witnessed
    name = mirror_file("/articles/1", "en")
    original = (mirror / name).read_text("utf-8")
    store = open_archive(settings)
    heads = [head.size for head in store.tree_heads()]

    def one_byte_changed(shown):
        at = next(i for i, c in enumerate(shown["text"]) if c.isalpha())
        return shown | {
            "text": shown["text"][:at] + chr(ord(shown["text"][at]) + 1) + shown["text"][at + 1 :]
        }

    def proof_of_another_head(proofs):
        size = next(size for size in reversed(heads) if f"\n{size}\n" not in proofs["checkpoint"])
        entry = proofs["entries"][0]
        other = [p.hex() for p in store.inclusion(entry["seq"], size)]
        assert other != entry["proof"]
        return proofs | {"entries": [entry | {"proof": other}, *proofs["entries"][1:]]}

    def one_cosignature_short(proofs):
        lines = proofs["checkpoint"].split("\n")
        witness = next(i for i, line in enumerate(lines) if line.startswith("— samizdat.witness/"))
        return proofs | {"checkpoint": "\n".join(lines[:witness] + lines[witness + 1 :])}

    for case, element, change, state, message in (
        (
            "text",
            "verification-shown",
            one_byte_changed,
            "failed",
            "the text differs from the one the log recorded",
        ),
        ("proof", "verification-proofs", proof_of_another_head, "failed", "the inclusion proof of log entry"),
        ("cosignature", "verification-proofs", one_cosignature_short, "unwitnessed", None),
    ):
        changed = mirror / name.replace(".html", f"-{case}.html")
        changed.write_text(_changed(original, element, change), "utf-8")
        found, result, failed, _ = verdict(browser, changed.as_uri())
        assert found == state, (case, result, failed)
        if message:
            assert result.startswith("Verification failed") and any(message in f for f in failed), failed
        else:
            assert "1 witnesses cosigned where 2 are needed" in result


# A browser whose WebCrypto has no Ed25519 (as before Chromium 137, Firefox 129, Safari 17), and
# a page outside a secure context (plain HTTP from another host), which has no WebCrypto at all.
NO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, key, algorithm, ...rest) =>
  algorithm && algorithm.name === "Ed25519"
    ? Promise.reject(new DOMException("Unrecognized name", "NotSupportedError"))
    : importKey(format, key, algorithm, ...rest);
"""
NO_WEBCRYPTO = "Object.defineProperty(window.crypto, 'subtle', { value: undefined });"


def test_without_ed25519_in_webcrypto_the_page_checks_itself_with_the_bundled_library(witnessed, browser):
    _, site, mirror = witnessed
    name = mirror_file("/articles/1", "en")
    for before in (NO_ED25519, NO_WEBCRYPTO):
        for url in (f"{site}/articles/1?lang=en", (mirror / name).as_uri()):
            state, result, failed, requests = verdict(browser, url, before)
            assert state == "verified" and failed == [], (url, result, failed)
            assert any(r.endswith("/static/noble.js") for r in requests), requests
    changed = mirror / name.replace(".html", "-text-noble.html")
    original = (mirror / name).read_text("utf-8")
    changed.write_text(
        _changed(original, "verification-shown", lambda shown: shown | {"title": shown["title"] + "!"}),
        "utf-8",
    )
    state, result, failed, _ = verdict(browser, changed.as_uri(), NO_WEBCRYPTO)
    assert state == "failed" and any("the text differs" in f for f in failed), failed
