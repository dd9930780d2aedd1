// Draws a ViewTree as an icicle (root at the top) on a <canvas>, zoomed on one node, and
// answers "which node is under this point". Only nodes at least MIN_WIDTH pixels wide are
// drawn, and their subtrees are skipped otherwise, so the cost follows what is visible, not the
// size of the tree (100,000 stacks draw in a few milliseconds).

const ROW_HEIGHT = 20;
const MIN_WIDTH = 0.4;
const LABEL_MIN_WIDTH = 28;
const FONT = "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";

export class CanvasRenderer {
  constructor(canvas, { label, colour }) {
    this.canvas = canvas;
    this.label = label;    // node -> text
    this.colour = colour;  // (node, state) -> CSS colour; state: {matched, searching, ancestor}
    this.rows = [];        // per depth: drawn boxes in x order, for hit testing
    this.drawn = [];       // every drawn box, for tests: {node, x, y, w, highlighted}
  }

  // focus: the zoomed node; matches: Uint8Array per node, or null when not searching.
  draw(tree, focus, matches) {
    const canvas = this.canvas;
    const width = Math.max(200, canvas.parentElement.clientWidth);
    const ratio = window.devicePixelRatio || 1;
    const ancestors = [];
    for (let v = tree.parent[focus]; v >= 0; v = tree.parent[v]) ancestors.unshift(v);

    // First pass: lay out, so the canvas gets the height of what is visible.
    const boxes = [];
    for (const v of ancestors) boxes.push({ node: v, x: 0, w: width, depth: tree.depth[v], ancestor: true });
    const scale = tree.totalBytes[focus] > 0 ? width / tree.totalBytes[focus] : 0;
    const stack = [[focus, 0]];
    while (stack.length) {
      const [v, x] = stack.pop();
      const w = v === focus ? width : tree.totalBytes[v] * scale;
      if (w < MIN_WIDTH) continue;
      boxes.push({ node: v, x, w, depth: tree.depth[v], ancestor: false });
      const kids = tree.children(v);
      // Children come largest first: the first one too narrow to draw ends the row. They are
      // pushed right to left so that boxes come out left to right at every depth.
      let visible = 0;
      while (visible < kids.length && tree.totalBytes[kids[visible]] * scale >= MIN_WIDTH) visible++;
      let offset = x;
      const starts = new Float64Array(visible);
      for (let k = 0; k < visible; k++) {
        starts[k] = offset;
        offset += tree.totalBytes[kids[k]] * scale;
      }
      for (let k = visible - 1; k >= 0; k--) stack.push([kids[k], starts[k]]);
    }
    let maxDepth = 0;
    for (const box of boxes) if (box.depth > maxDepth) maxDepth = box.depth;
    const height = (maxDepth + 1) * ROW_HEIGHT;

    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.textBaseline = "middle";
    const charWidth = ctx.measureText("m").width;

    this.rows = Array.from({ length: maxDepth + 1 }, () => []);
    this.drawn = boxes;
    for (const box of boxes) {
      const y = box.depth * ROW_HEIGHT;
      box.y = y;
      box.highlighted = Boolean(matches && matches[box.node]);
      this.rows[box.depth].push(box);
      ctx.fillStyle = this.colour(box.node, { matched: box.highlighted, searching: Boolean(matches), ancestor: box.ancestor });
      ctx.fillRect(box.x, y, Math.max(box.w - 1, 0.5), ROW_HEIGHT - 1);
      if (box.w >= LABEL_MIN_WIDTH) {
        const fits = Math.floor((box.w - 8) / charWidth);
        let text = this.label(box.node);
        if (text.length > fits) text = fits > 1 ? text.slice(0, fits - 1) + "…" : "";
        box.text = text;
        if (text) {
          ctx.fillStyle = "#1b1b1b";
          ctx.fillText(text, box.x + 4, y + ROW_HEIGHT / 2);
        }
      }
    }
  }

  // The drawn box under canvas coordinates (CSS pixels), or null.
  boxAt(x, y) {
    const row = this.rows[Math.floor(y / ROW_HEIGHT)];
    if (!row) return null;
    let lo = 0;
    let hi = row.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const box = row[mid];
      if (x < box.x) hi = mid - 1;
      else if (x >= box.x + box.w) lo = mid + 1;
      else return box;
    }
    return null;
  }
}
