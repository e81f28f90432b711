// The mirror's search: Pagefind's index of the archived articles, queried in the browser.
// The index holds each article as folded terms (web/mirror/pages.py, search_terms): Chinese as
// overlapping character pairs, each written as its code points, other words whole. A query is
// folded and cut the same way, so that any substring of an article's text finds it, as on the
// site. Nothing from the index is inserted as HTML: titles and summaries are set as text.
//
// The index is in shards of consecutive articles (pagefind/shards.json), each its own Pagefind
// instance. A search reads the newest shards first, as the site's search does: once a page is
// full and the matches, estimated from the articles read so far, are more than the site ranks
// (read/reader.py's RANKED_MAX), it stops and shows the newest; fewer are ranked by relevance
// across every shard (the rest read at once, once a full shard's matches say so). Most of a
// search's time is Pagefind loading, for each shard it reads, the part of the index that holds
// each term (once per term: the next search of it is fast), so a common word costs the newest
// shard or two, not the whole archive.
const box = document.getElementById("search");
const input = box.querySelector("input");
const list = document.getElementById("results");
const count = document.getElementById("result-count");
const more = document.getElementById("more");
const PAGE = 20; // results a page, as on the site
// read/reader.py's RANKED_MAX, given by the page: more matches than this are shown newest first.
const rankedMax = () => Number(box.dataset.rankedMax);

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const RUNS = /[\u3400-\u9fff\uf900-\ufaff]+|[\p{L}\p{M}\p{N}]+/gu;
let folds = null;

function fold(text) {
  const normal = text.normalize("NFKC").toLowerCase();
  return Array.from(normal, (c) => folds[c] ?? c).join("");
}

function token(characters) {
  return Array.from(characters, (c) => "u" + c.codePointAt(0).toString(16)).join("");
}

function terms(query) {
  const out = [];
  for (const run of fold(query).match(RUNS) ?? []) {
    const characters = Array.from(run);
    if (!CJK.test(run)) out.push(run);
    else if (characters.length === 1) out.push(token(run));
    else for (let i = 0; i + 1 < characters.length; i++) out.push(token(characters[i] + characters[i + 1]));
  }
  return out.join(" ");
}

function highlighted(target, text, query) {
  // The query's own characters marked where the summary holds them as typed.
  const at = query ? text.indexOf(query) : -1;
  if (at < 0) {
    target.textContent = text;
    return;
  }
  const mark = document.createElement("mark");
  mark.textContent = query;
  target.append(text.slice(0, at), mark, text.slice(at + query.length));
}

let shards = null; // newest first: {name, articles, engine}
let root = null;
let loading = null;

async function load() {
  if (location.protocol === "file:") {
    count.textContent = box.dataset.needsServer;
    return null;
  }
  loading ??= (async () => {
    root = new URL(box.dataset.root, location.href);
    folds = await (await fetch(new URL("static/fold.json", root))).json();
    const listed = await (await fetch(new URL("pagefind/shards.json", root))).json();
    shards = listed.map((s) => (typeof s === "string" ? { name: s, articles: 0 } : s)).reverse();
    return shards;
  })();
  return loading;
}

// Pagefind's files are stored gzipped, and Pagefind inflates each in JavaScript on the page's
// thread unless it arrives inflated (as from a host that serves it with Content-Encoding: gzip).
// Its WebAssembly and each shard's metadata, loaded once per shard before the first search, are
// the largest: the browser's own DecompressionStream inflates them natively (a third off the
// time until every shard is ready). The index's many small chunks are left to Pagefind: for
// them the stream's round trips cost more than they save (docs/benchmarks.md).
const PAGEFIND_FILE = /\/pagefind\/[^/]+\/(pagefind\.[^/]+\.pf_meta|wasm\.[\w-]+\.pagefind)$/;
if (typeof DecompressionStream === "function") {
  const fetchAsServed = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await fetchAsServed(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (!response.ok || !PAGEFIND_FILE.test(url.pathname)) return response;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new Response(bytes); // inflated by the host
    const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(await new Response(inflated).arrayBuffer());
  };
}

// Each shard's Pagefind is a module of its own (its own URL): Pagefind keeps its WebAssembly
// in one variable of its module, so two indexes of one module overwrite each other's (its
// createInstance). On the page's thread: a worker per shard would be a thread per shard.
function engine(shard) {
  shard.engine ??= (async () => {
    const module = await import(new URL(`pagefind/${shard.name}/pagefind.js`, root).href);
    await module.options({ noWorker: true });
    await module.init();
    return module;
  })();
  return shard.engine;
}

// The shards load their index's entry, metadata and WebAssembly while the reader types, the
// newest first, so that the first search finds them ready.
async function warm() {
  for (const shard of (await load()) ?? []) await engine(shard);
}

async function find(query, wanted) {
  const term = terms(query);
  const all = shards.reduce((sum, shard) => sum + shard.articles, 0);
  const full = Math.max(...shards.map((shard) => shard.articles));
  const search = async (shard) => (await (await engine(shard)).search(term, { sort: { newest: "desc" } })).results;
  const found = [];
  let searched = 0;
  let next = 0;
  while (next < shards.length) {
    found.push(...(await search(shards[next])));
    searched += shards[next++].articles;
    const estimate = searched ? Math.round((found.length * all) / searched) : 0;
    if (found.length >= wanted && estimate > rankedMax() && searched < all) {
      return { results: found.slice(0, wanted), total: estimate, newest: true, estimated: true };
    }
    if (searched >= full && estimate <= rankedMax()) break; // to be ranked: every shard, at once
  }
  for (const results of await Promise.all(shards.slice(next).map(search))) found.push(...results);
  const newest = found.length > rankedMax();
  // A stable sort: equal scores stay newest first, as the site breaks ties.
  if (!newest) found.sort((a, b) => b.score - a.score);
  return { results: found, total: found.length, newest, estimated: false };
}

let shown = 0;
async function run(query, page = 1) {
  const ready = await load();
  if (!ready) return;
  if (page === 1) {
    list.replaceChildren();
    shown = 0;
  }
  more.hidden = true;
  if (!query) {
    count.textContent = "";
    return;
  }
  if (!ready.length) {
    count.textContent = box.dataset.none.replace("{q}", query);
    return;
  }
  const found = await find(query, page * PAGE);
  if (input.value.trim() !== query) return; // a newer query is on its way
  const template = found.estimated || found.newest ? box.dataset.about : box.dataset.count;
  count.textContent = found.total
    ? template.replace("{n}", found.total.toLocaleString())
    : box.dataset.none.replace("{q}", query);
  const next = found.results.slice(shown, page * PAGE);
  for (const data of await Promise.all(next.map((r) => r.data()))) {
    const item = document.createElement("li");
    item.className = "article-item";
    item.dataset.id = data.meta.id;
    const link = document.createElement("a");
    link.className = "title";
    link.href = box.dataset.pages + "articles/" + encodeURIComponent(data.meta.id) + ".html";
    highlighted(link, data.meta.title || data.meta.id, query);
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    highlighted(snippet, data.meta.summary ?? "", query);
    item.append(link, snippet);
    list.append(item);
  }
  shown += next.length;
  more.hidden = found.results.length <= shown && !found.estimated;
  more.onclick = () => run(query, page + 1);
}

// The same search for scripts (the mirror's benchmark measures it): the Pagefind ids of the
// results a reader is shown first — the newest page, or every match when they are ranked.
window.samizdatSearch = async (query) => {
  await load();
  return (await find(query, PAGE)).results.map((r) => r.id);
};
window.samizdatReady = warm();

box.querySelector("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = input.value.trim();
  history.replaceState(null, "", query ? "?q=" + encodeURIComponent(query) : location.pathname);
  run(query);
});
const initial = new URLSearchParams(location.search).get("q");
if (initial) {
  input.value = initial;
  run(initial.trim());
}
