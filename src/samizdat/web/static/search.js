// The mirror's search: Pagefind's index of the archived articles, queried in the browser.
// No markup from the index is inserted as HTML: titles and excerpts are set as text.
const box = document.getElementById("search");
const input = box.querySelector("input");
const list = document.getElementById("results");
const count = document.getElementById("result-count");
const MAX_SHOWN = 50;

function excerpt(target, marked) {
  // Pagefind marks the hits with <mark>: keep those, as text, and nothing else.
  const parsed = new DOMParser().parseFromString(marked, "text/html");
  for (const node of parsed.body.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      target.append(mark);
    } else {
      target.append(document.createTextNode(node.textContent));
    }
  }
}

let pagefind = null;
async function load() {
  if (location.protocol === "file:") {
    count.textContent = box.dataset.needsServer;
    return null;
  }
  pagefind ??= await import(new URL(box.dataset.root + "pagefind/pagefind.js", location.href).href);
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
  const found = await engine.search(query);
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
    link.textContent = data.meta.title || data.meta.id;
    const snippet = document.createElement("p");
    snippet.className = "snippet";
    excerpt(snippet, data.excerpt);
    item.append(link, snippet);
    list.append(item);
  }
}

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
