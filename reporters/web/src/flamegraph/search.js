// Which nodes match a search (function name or file, case-insensitive substring), and the
// share of the total they account for, counting nested matches once.
export function searchMatches(tree, frames, query) {
  if (!query) return null;
  const needle = query.toLowerCase();
  const frameMatch = new Map();
  const matchesFrame = (f) => {
    let hit = frameMatch.get(f);
    if (hit === undefined) {
      hit = f >= 0 && (frames.func(f).toLowerCase().includes(needle) || frames.file(f).toLowerCase().includes(needle));
      frameMatch.set(f, hit);
    }
    return hit;
  };
  const n = tree.size;
  const matched = new Uint8Array(n);
  const covered = new Uint8Array(n);  // a match or below one
  let bytes = 0;
  let count = 0;
  for (let v = 1; v < n; v++) {
    const above = covered[tree.parent[v]];
    if (matchesFrame(tree.frame[v])) {
      matched[v] = 1;
      count++;
      if (!above) bytes += tree.totalBytes[v];
      covered[v] = 1;
    } else {
      covered[v] = above;
    }
  }
  return { matched, count, bytes };
}
