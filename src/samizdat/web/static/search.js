// The mirror's search: Pagefind's index of the archived articles, queried in the browser.
// The index holds each article as folded terms (web/mirror.py, search_terms): Chinese as
// overlapping character pairs, other words whole. A query is folded and cut the same way, so
// that any substring of an article's text finds it, as on the site. Nothing from the index is
// inserted as HTML: titles and summaries are set as text.
const box = document.getElementById("search");
const input = box.querySelector("input");
const list = document.getElementById("results");
const count = document.getElementById("result-count");
const MAX_SHOWN = 50;

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const RUNS = /[\u3400-\u9fff\uf900-\ufaff]+|[\p{L}\p{M}\p{N}]+/gu;
let folds = null;

function fold(text) {
  const normal = text.normalize("NFKC").toLowerCase();
  return Array.from(normal, (c) => folds[c] ?? c).join("");
}

function terms(query) {
  const out = [];
  for (const run of fold(query).match(RUNS) ?? []) {
    if (!CJK.test(run)) out.push(run);
    else if (run.length === 1) out.push(run);
    else for (let i = 0; i + 1 < run.length; i++) out.push(run.slice(i, i + 2));
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

let pagefind = null;
async function load() {
  if (location.protocol === "file:") {
    count.textContent = box.dataset.needsServer;
    return null;
  }
  const root = new URL(box.dataset.root, location.href);
  folds ??= await (await fetch(new URL("static/fold.json", root))).json();
  if (!pagefind) {
    // One index per shard of the archive (pagefind/shards.json): the first is loaded, the
    // others merged into it, and a search covers them all.
    const shards = await (await fetch(new URL("pagefind/shards.json", root))).json();
    if (!shards.length) return { search: async () => ({ results: [] }) }; // nothing archived yet
    const engine = await import(new URL(`pagefind/${shards[0]}/pagefind.js`, root).href);
    for (const shard of shards.slice(1)) await engine.mergeIndex(new URL(`pagefind/${shard}/`, root).href);
    pagefind = engine;
  }
  return pagefind;
}

async function run(query) {
  const engine = await load();
  if (!engine) return;
  list.replaceChildren();
  if (!query) {
    count.textContent = "";
    return;
  }
  const found = await engine.search(terms(query));
  if (input.value.trim() !== query) return; // a newer query is on its way
  count.textContent = found.results.length
    ? box.dataset.count.replace("{n}", found.results.length)
    : box.dataset.none.replace("{q}", query);
  const shown = await Promise.all(found.results.slice(0, MAX_SHOWN).map((r) => r.data()));
  for (const data of shown) {
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
}

// The same search for scripts (the mirror's benchmark measures it): every result's Pagefind id.
window.samizdatSearch = async (query) => (await (await load()).search(terms(query))).results.map((r) => r.id);

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
