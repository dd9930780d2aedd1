// The tree the flame graph draws, rebuilt from the report's call tree whenever a filter
// changes: thread filter, hidden frames, inverted view, or (temporal) new self values.
//
// Hidden "irrelevant" frames (start-up plumbing, and in --native captures the interpreter's
// own unnamed native frames) are spliced out (their children and their own usage move up to
// the parent); import-system frames are dropped with everything they called. After splicing,
// siblings with the same frame are merged, so one function never shows twice side by side.
//
// Everything lives in typed arrays and children in one flat array (CSR), because the tree can
// have a million nodes and must be rebuilt in well under a second.
import { FLAG_IMPORT_SYSTEM, FLAG_IRRELEVANT, FLAG_UNNAMED_INTERPRETER } from "../common/data.js";

function hash(parent, frame, thread) {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(frame + 1, 0x85ebca77) ^ Math.imul(thread, 0xc2b2ae3d);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
}

class ViewTreeBuilder {
  constructor(capacity) {
    this.capacity = Math.max(16, capacity);
    this.frame = new Int32Array(this.capacity);
    this.parent = new Int32Array(this.capacity);
    this.depth = new Int32Array(this.capacity);
    this.thread = new Int32Array(this.capacity);
    this.selfBytes = new Float64Array(this.capacity);
    this.selfCount = new Float64Array(this.capacity);
    this.size = 1;
    this.frame[0] = -1;
    this.parent[0] = -1;
    // (parent, frame, thread) -> node for the children that may merge: an open-addressing
    // table of node indices (-1: empty), several times faster than a Map at a million entries.
    this.slots = new Int32Array(1024).fill(-1);
    this.used = 0;
  }

  grow() {
    this.capacity *= 2;
    for (const name of ["frame", "parent", "depth", "thread", "selfBytes", "selfCount"]) {
      const bigger = new this[name].constructor(this.capacity);
      bigger.set(this[name]);
      this[name] = bigger;
    }
  }

  add(parent, frame, thread) {
    if (this.size === this.capacity) this.grow();
    const node = this.size++;
    this.frame[node] = frame;
    this.parent[node] = parent;
    this.depth[node] = this.depth[parent] + 1;
    this.thread[node] = thread;
    return node;
  }

  // The child of `parent` for (frame, thread), made on first use.
  child(parent, frame, thread) {
    const mask = this.slots.length - 1;
    let slot = hash(parent, frame, thread) & mask;
    for (;;) {
      const node = this.slots[slot];
      if (node < 0) break;
      if (this.parent[node] === parent && this.frame[node] === frame && this.thread[node] === thread) return node;
      slot = (slot + 1) & mask;
    }
    const node = this.add(parent, frame, thread);
    this.slots[slot] = node;
    if (++this.used * 2 > this.slots.length) this.rehash();
    return node;
  }

  rehash() {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    const mask = this.slots.length - 1;
    for (const node of old) {
      if (node < 0) continue;
      let slot = hash(this.parent[node], this.frame[node], this.thread[node]) & mask;
      while (this.slots[slot] >= 0) slot = (slot + 1) & mask;
      this.slots[slot] = node;
    }
  }

  finish() {
    return new ViewTree(this);
  }
}

export class ViewTree {
  constructor(builder) {
    const n = builder.size;
    this.size = n;
    this.frame = builder.frame.subarray(0, n);
    this.parent = builder.parent.subarray(0, n);
    this.depth = builder.depth.subarray(0, n);
    this.thread = builder.thread.subarray(0, n);
    this.selfBytes = builder.selfBytes.subarray(0, n);
    this.selfCount = builder.selfCount.subarray(0, n);
    const totalBytes = new Float64Array(this.selfBytes);
    const totalCount = new Float64Array(this.selfCount);
    // Parents always come before their children, so one backwards pass sums every subtree.
    const parent = this.parent;
    for (let v = n - 1; v > 0; v--) {
      totalBytes[parent[v]] += totalBytes[v];
      totalCount[parent[v]] += totalCount[v];
    }
    this.totalBytes = totalBytes;
    this.totalCount = totalCount;

    // Children of v: childList[childStart[v] .. childStart[v + 1]), largest first. Empty
    // subtrees are left out: nothing to draw there.
    const childStart = new Int32Array(n + 1);
    for (let v = 1; v < n; v++) if (totalBytes[v] > 0 || totalCount[v] > 0) childStart[parent[v] + 1]++;
    for (let v = 0; v < n; v++) childStart[v + 1] += childStart[v];
    const fill = childStart.slice(0, n);
    const childList = new Int32Array(childStart[n]);
    let maxDepth = 0;
    const depth = this.depth;
    for (let v = 1; v < n; v++) {
      if (totalBytes[v] > 0 || totalCount[v] > 0) {
        childList[fill[parent[v]]++] = v;
        if (depth[v] > maxDepth) maxDepth = depth[v];
      }
    }
    const bySize = (a, b) => totalBytes[b] - totalBytes[a] || a - b;
    for (let v = 0; v < n; v++) {
      const begin = childStart[v];
      const end = childStart[v + 1];
      if (end - begin < 2) continue;
      // Reports list children largest first already: sort only what is out of order.
      let sorted = true;
      for (let k = begin + 1; k < end && sorted; k++) {
        const a = childList[k - 1];
        const b = childList[k];
        sorted = totalBytes[a] > totalBytes[b] || (totalBytes[a] === totalBytes[b] && a < b);
      }
      if (!sorted) childList.subarray(begin, end).sort(bySize);
    }
    this.childStart = childStart;
    this.childList = childList;
    this.maxDepth = maxDepth;
  }

  children(v) {
    return this.childList.subarray(this.childStart[v], this.childStart[v + 1]);
  }

  // The frames from the root's child down to `node`.
  framePath(node) {
    const path = [];
    for (let v = node; v > 0; v = this.parent[v]) path.push(this.frame[v]);
    return path.reverse();
  }

  // The node at the end of a frame path, or -1 when this tree has no such path.
  findPath(path) {
    let node = 0;
    for (const frame of path) {
      const next = this.children(node).find((c) => this.frame[c] === frame);
      if (next === undefined) return -1;
      node = next;
    }
    return node;
  }
}

// options: {hideIrrelevant, hideImportSystem, thread (index; 0 = all), inverted}
// selfBytes/selfCount: per report node (the report's own, or a temporal range's).
export function buildViewTree(data, selfBytes, selfCount, options) {
  const { parent, frame, thread } = data.nodes;
  const flags = data.frames.flags;
  const n = parent.length;
  // Per frame: hidden by "hide irrelevant" (spliced) or by "hide import system" (dropped).
  const splicedFrame = new Uint8Array(flags.length);
  const droppedFrame = new Uint8Array(flags.length);
  for (let f = 0; f < flags.length; f++) {
    splicedFrame[f] = options.hideIrrelevant && flags[f] & (FLAG_IRRELEVANT | FLAG_UNNAMED_INTERPRETER) ? 1 : 0;
    droppedFrame[f] = options.hideImportSystem && flags[f] & FLAG_IMPORT_SYSTEM ? 1 : 0;
  }

  // Children lifted out of a spliced node may meet a sibling with the same frame: only under
  // such parents are children looked up by key (merged); everywhere else a report node simply
  // becomes a view node.
  const liftsChildren = new Uint8Array(n);
  for (let i = 1; i < n; i++) if (splicedFrame[frame[i]]) liftsChildren[parent[i]] = 1;

  const builder = new ViewTreeBuilder(n);
  const merging = new Uint8Array(n);  // per view node: its children go through the key map
  const viewOf = new Int32Array(n).fill(-1);
  viewOf[0] = 0;
  merging[0] = liftsChildren[0];
  const threadFilter = options.thread;
  const { frame: viewFrame, parent: viewParent, depth: viewDepth, thread: viewThread } = builder;
  for (let i = 1; i < n; i++) {
    const up = viewOf[parent[i]];
    if (up < 0) continue;  // an ancestor was dropped
    if (threadFilter > 0 && thread[i] !== threadFilter) continue;
    const f = frame[i];
    if (droppedFrame[f]) continue;
    if (splicedFrame[f]) {
      viewOf[i] = up;
      continue;
    }
    let v;
    if (merging[up]) {
      v = builder.child(up, f, thread[i]);
    } else {
      // builder.add, inlined: the capacity (n) always suffices, as each report node makes at
      // most one view node.
      v = builder.size++;
      viewFrame[v] = f;
      viewParent[v] = up;
      viewDepth[v] = viewDepth[up] + 1;
      viewThread[v] = thread[i];
    }
    viewOf[i] = v;
    if (liftsChildren[i]) merging[v] = 1;
  }
  // Locals, not properties, in the loops over every node: these loops run once per rebuild,
  // often before the JIT has optimised them, where each property load costs.
  const viewSelfBytes = builder.selfBytes;
  const viewSelfCount = builder.selfCount;
  for (let i = 0; i < n; i++) {
    const v = viewOf[i];
    if (v < 0) continue;
    viewSelfBytes[v] += selfBytes[i];
    viewSelfCount[v] += selfCount[i];
  }
  const tree = builder.finish();
  return options.inverted ? invert(tree) : tree;
}

// The icicle of callers: every node with usage of its own contributes its path, reversed, so
// the first row shows the allocating functions and each row below shows who called them.
function invert(tree) {
  const builder = new ViewTreeBuilder(tree.size);
  for (let v = 1; v < tree.size; v++) {
    if (tree.selfBytes[v] === 0 && tree.selfCount[v] === 0) continue;
    let node = 0;
    for (let u = v; u > 0; u = tree.parent[u]) node = builder.child(node, tree.frame[u], tree.thread[u]);
    builder.selfBytes[node] += tree.selfBytes[v];
    builder.selfCount[node] += tree.selfCount[v];
  }
  return builder.finish();
}
