// The stock data set the memory and snapshot benchmarks store: entry i is
// article 12345 + (i mod 11,000) in store 1 + ⌊i / 11,000⌋, so 1,870,000
// entries cover 170 stores; its value is a short string or `{ qty, updatedAt }`.

/** The key of entry `i`: `A0012345:EA:S001`. */
export function stockKey(i) {
  const article = 12345 + (i % 11000);
  const store = 1 + Math.floor(i / 11000);
  return `A${String(article).padStart(7, "0")}:EA:S${String(store).padStart(3, "0")}`;
}

/** The value of entry `i`: `kind` "string" gives `q0000042`, else `{ qty, updatedAt }`. */
export function stockValue(kind, i) {
  return kind === "string" ? `q${String(i % 10_000_000).padStart(7, "0")}` : { qty: i % 500, updatedAt: 1732000000000 + i };
}
