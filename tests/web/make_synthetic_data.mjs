// Writes report data (docs/report-data.md) for a synthetic program with a chosen number of
// distinct stacks: the input of the scale test, and handy for working on the apps without a
// capture. Deterministic (a fixed-seed generator), so runs are comparable.
//
//   node make_synthetic_data.mjs --stacks 100000 [--view table] [--temporal] [--split-threads] [--bushy] > data.json
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    stacks: { type: "string", default: "1000" },
    view: { type: "string", default: "flamegraph" },
    temporal: { type: "boolean", default: false },
    "split-threads": { type: "boolean", default: false },
    bushy: { type: "boolean", default: false },
  },
});
const stackCount = Number(args.stacks);
if (!Number.isInteger(stackCount) || stackCount < 1) {
  console.error("make_synthetic_data.mjs: error: --stacks must be a positive integer");
  process.exit(2);
}

let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const pick = (n) => Math.floor(random() * n);

const strings = [""];
const stringIndex = new Map([["", 0]]);
const intern = (s) => {
  if (!stringIndex.has(s)) {
    stringIndex.set(s, strings.length);
    strings.push(s);
  }
  return stringIndex.get(s);
};
const frames = { function: [], file: [], line: [], source: [], flags: [] };
const FUNCTION_COUNT = 3000;
for (let i = 0; i < FUNCTION_COUNT; i++) {
  frames.function.push(intern(`function_${i}`));
  frames.file.push(intern(`/srv/app/module_${i % 200}.py`));
  frames.line.push(1 + (i % 500));
  frames.source.push(intern(`result = function_${i + 1}(data)`));
  frames.flags.push(i === 1 ? 2 : i === 2 ? 1 : 0);  // one start-up frame, one import frame
}

const threads = args["split-threads"] ? ["all threads", "MainThread (tid 1)", "worker (tid 2)"] : ["all threads"];
const nodes = { parent: [-1], frame: [-1], thread: [0], self_bytes: [0], self_count: [0] };
const childOf = new Map();
const child = (parent, frame, thread) => {
  const key = `${parent}:${frame}`;
  let node = childOf.get(key);
  if (node === undefined) {
    node = nodes.parent.length;
    nodes.parent.push(parent);
    nodes.frame.push(frame);
    nodes.thread.push(thread);
    nodes.self_bytes.push(0);
    nodes.self_count.push(0);
    childOf.set(key, node);
  }
  return node;
};

// Stacks share prefixes the way real programs do: each one walks down the tree built so far,
// mostly following an existing call (more often near the entry point), and branches off into
// new calls near its end; every stack ends in a distinct leaf, so there are exactly
// `stackCount` distinct stacks. With --bushy every level branches at random instead (about
// twelve nodes per stack rather than four): a harsher case than real programs produce.
const kids = [[]];
const childFor = (parent, frame, thread) => {
  const before = nodes.parent.length;
  const node = child(parent, frame, thread);
  if (node === before) {
    kids[parent].push(node);
    kids.push([]);
  }
  return node;
};
const leaves = [];
for (let s = 0; s < stackCount; s++) {
  const thread = threads.length > 1 ? 1 + (s % 2) : 0;
  let node = childFor(0, 1, thread);  // the start-up frame
  node = childFor(node, 3 + pick(4), thread);
  const depth = 6 + pick(30);
  const branchAt = depth - 1 - pick(4);
  for (let d = 0; d < depth; d++) {
    const existing = kids[node];
    const follow = args.bushy ? false : existing.length > 0 && (d < branchAt ? random() < 0.995 : random() < 0.2);
    node = follow ? existing[pick(existing.length)] : childFor(node, 10 + pick(8 + d * 40), thread);
  }
  while (nodes.self_bytes[node] > 0) node = childFor(node, 10 + pick(FUNCTION_COUNT - 10), thread);
  const bytes = 16 + Math.floor(Math.pow(random(), 4) * 1_000_000);
  nodes.self_bytes[node] = bytes;
  nodes.self_count[node] = 1 + pick(50);
  leaves.push(node);
}

// Renumber the nodes depth first, children largest first: the order memray's writer uses.
{
  const n = nodes.parent.length;
  const total = nodes.self_bytes.slice();
  for (let i = n - 1; i > 0; i--) total[nodes.parent[i]] += total[i];
  const order = [];
  const stack = [0];
  while (stack.length) {
    const v = stack.pop();
    order.push(v);
    const children = kids[v].slice().sort((a, b) => total[b] - total[a] || a - b);
    for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]);
  }
  const position = new Array(n);
  order.forEach((v, i) => (position[v] = i));
  for (const field of ["frame", "thread", "self_bytes", "self_count"]) nodes[field] = order.map((v) => nodes[field][v]);
  nodes.parent = order.map((v) => (v === 0 ? -1 : position[nodes.parent[v]]));
  leaves.forEach((leaf, k) => (leaves[k] = position[leaf]));
}

const memory = { time_ms: [], rss: [], heap: [] };
for (let t = 0; t < 500; t++) {
  memory.time_ms.push(t * 20);
  memory.heap.push(Math.round(50e6 * Math.sin((t / 500) * Math.PI) + 1e6));
  memory.rss.push(Math.round(60e6 * Math.sin((t / 500) * Math.PI) + 20e6));
}

let temporal = null;
if (args.temporal) {
  const sliceCount = 50;
  const slices = { start_ms: [], end_ms: [], heap: [], rss: [] };
  for (let s = 0; s < sliceCount; s++) {
    slices.start_ms.push(s * 200);
    slices.end_ms.push((s + 1) * 200);
    slices.heap.push(memory.heap[s * 10]);
    slices.rss.push(memory.rss[s * 10]);
  }
  const intervals = { node: [], from: [], to: [], bytes: [], count: [] };
  for (const leaf of leaves) {
    const from = pick(sliceCount);
    const to = random() < 0.3 ? -1 : from + 1 + pick(sliceCount - from);
    intervals.node.push(leaf);
    intervals.from.push(from);
    intervals.to.push(to >= sliceCount ? -1 : to);
    intervals.bytes.push(nodes.self_bytes[leaf]);
    intervals.count.push(nodes.self_count[leaf]);
  }
  temporal = { slices, intervals };
}

const reportBytes = nodes.self_bytes.reduce((a, b) => a + b, 0);
const reportCount = nodes.self_count.reduce((a, b) => a + b, 0);
let table = null;
if (args.view === "table") {
  table = { thread: [], allocator: [], frame: [], bytes: [], count: [] };
  const allocators = ["malloc", "calloc", "realloc", "mmap"].map(intern);
  for (const leaf of leaves) {
    table.thread.push(nodes.thread[leaf]);
    table.allocator.push(allocators[leaf % allocators.length]);
    table.frame.push(nodes.frame[leaf]);
    table.bytes.push(nodes.self_bytes[leaf]);
    table.count.push(nodes.self_count[leaf]);
  }
}

// The tree as the file stores it (docs/report-data.md): parent offsets, the thread column only
// when threads are split, self usage only where there is some.
function storedTree() {
  const self = { node: [], bytes: [], count: [] };
  nodes.self_bytes.forEach((bytes, i) => {
    if (bytes || nodes.self_count[i]) {
      self.node.push(i);
      self.bytes.push(bytes);
      self.count.push(nodes.self_count[i]);
    }
  });
  return {
    nodes: {
      parent_offset: nodes.parent.map((p, i) => (p < 0 ? 0 : i - p)),
      frame: nodes.frame,
      thread: threads.length > 1 ? nodes.thread : [],
    },
    self,
  };
}

process.stdout.write(JSON.stringify({
  version: 1,
  view: args.view,
  report: "peak",
  inverted: false,
  split_threads: threads.length > 1,
  metadata: {
    capture_file: "synthetic.bin",
    command_line: `synthetic program with ${stackCount} stacks`,
    pid: 4242,
    python_version: "3.12.0",
    start_time_ms: 1790000000000,
    duration_ms: 10000,
    peak_bytes: reportBytes,
    total_allocations: reportCount * 2,
    total_bytes: reportBytes * 2,
    report_bytes: reportBytes,
    report_allocations: reportCount,
    trace_python_allocators: false,
    native: false,
    aggregated: false,
    ended_abruptly: false,
  },
  strings,
  frames,
  ...storedTree(),
  threads,
  memory,
  table,
  temporal,
}));
