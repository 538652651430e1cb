// Panel 4: a page built from fragments with dependsOn; edits rebuild exactly
// what was built on them.

const db = {
  article: { title: "Caches at the edge", author: "ann" },
  comments: { 1: { text: "Great read.", author: "bob" }, 2: { text: "What about jitter?", author: "ann" }, 3: { text: "Benchmarks please.", author: "cy" } },
  authors: { ann: "Ann", bob: "Bob", cy: "Cy" },
};
let edits = 0;

export function setupDoll({ Cache }, registry, $) {
  const cache = registry.add("doll", "russian doll", new Cache());
  const section = $("doll");
  let rebuilt;

  const fragment = (key, deps, build) =>
    cache.getOrLoad(key, async () => {
      rebuilt.add(JSON.stringify(key));
      return build();
    }, { dependsOn: deps });

  const author = (id) => fragment(["frag", "author", id], [["author", id]], () => db.authors[id]);
  const comment = (id) => fragment(["frag", "comment", id], [["comment", id], ["frag", "author", db.comments[id].author]],
    async () => `${await author(db.comments[id].author)}: ${db.comments[id].text}`);
  const list = () => fragment(["frag", "comments"], [1, 2, 3].map((i) => ["frag", "comment", i]),
    async () => (await Promise.all([1, 2, 3].map(comment))).join(" | "));
  const page = () => fragment(["frag", "page"], [["frag", "comments"], ["frag", "author", db.article.author], ["article"]],
    async () => `${db.article.title} by ${await author(db.article.author)} — ${await list()}`);

  async function render() {
    rebuilt = new Set();
    await page();
    const node = (label, key, children = "") => {
      const k = JSON.stringify(key);
      const state = rebuilt.has(k) ? "rebuilt" : "cached";
      return `<div class="frag ${state}" data-key='${k}'>${label} <small>(${state})</small>${children}</div>`;
    };
    const authorNode = (id) => node(`author “${db.authors[id]}”`, ["frag", "author", id]);
    $("doll-tree").innerHTML = node("page: " + db.article.title, ["frag", "page"],
      authorNode(db.article.author) +
      node("comment list", ["frag", "comments"], [1, 2, 3].map((i) =>
        node(`comment ${i}: “${db.comments[i].text}”`, ["frag", "comment", i], authorNode(db.comments[i].author))).join("")));
    const s = cache.stats();
    $("doll-counters").innerHTML = `<span>rebuilt this render <b>${rebuilt.size}</b></span><span>served from cache <b>${8 - rebuilt.size}</b></span>` +
      `<span>stats(): hits <b>${s.hits}</b>, loads <b>${s.loads}</b>, invalidations <b>${s.invalidations}</b>, entries <b>${s.entries}</b></span>`;
    section.dataset.renders = String(Number(section.dataset.renders ?? 0) + 1);
    section.dataset.rebuilt = String(rebuilt.size);
  }

  $("doll-render").addEventListener("click", render);
  $("doll-edit").addEventListener("click", async () => {
    db.comments[2].text = `Edited ${++edits}×: what about jitter?`;
    cache.invalidate(["comment", 2]); // the source changed: everything built on it goes
    await render();
  });
  $("doll-author").addEventListener("click", async () => {
    db.authors.ann = db.authors.ann === "Ann" ? "Ann B." : "Ann";
    cache.invalidate(["author", "ann"]);
    await render();
  });
}
