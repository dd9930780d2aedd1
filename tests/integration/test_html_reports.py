"""memray flamegraph and memray table on real captures: the options, the files they write and
the data inside them (docs/report-data.md). The browser side is test_html_report_browser.py."""

import unittest

import memray_testlib
from html_report_lib import KNOWN_FUNCTIONS, capture_known_program, function_names, report_data, tree_nodes

MIB = 1024 * 1024


class HtmlReportTests(memray_testlib.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.capture = capture_known_program(self.tmp).capture

    def report(self, *args, expect=0):
        process = memray_testlib.run_memray(list(args))
        self.assertEqual(process.returncode, expect, process.stderr)
        return process

    def node_path_functions(self, data, node):
        """Function names from the root's child down to `node`."""
        strings, frames, nodes = data["strings"], data["frames"], tree_nodes(data)
        names = []
        while node > 0:
            names.append(strings[frames["function"][nodes["frame"][node]]])
            node = nodes["parent"][node]
        return names[::-1]

    def test_flamegraph_default_name_and_contract(self):
        process = self.report("flamegraph", self.capture)
        output = self.tmp / "memray-flamegraph-capture.html"
        self.assertEqual(process.stdout.strip(), "Wrote %s" % output)
        data = report_data(output)
        self.assertEqual((data["version"], data["view"], data["report"]), (1, "flamegraph", "peak"))
        self.assertEqual(data["strings"][0], "")
        for name in KNOWN_FUNCTIONS:
            self.assertIn(name, function_names(data))
        self.assertNotIn("epsilon_temporary", function_names(data), "garbage is not live at the peak")
        self.assertEqual(data["nodes"]["thread"], [], "no thread column when threads are merged")
        self.assertEqual(data["self"]["node"], sorted(set(data["self"]["node"])))
        nodes = tree_nodes(data)
        n = len(nodes["parent"])
        self.assertEqual(nodes["parent"][0], -1)
        self.assertTrue(all(0 <= nodes["parent"][i] < i for i in range(1, n)), "parents come first")
        self.assertEqual(sum(nodes["self_bytes"]), data["metadata"]["report_bytes"])
        self.assertEqual(sum(nodes["self_count"]), data["metadata"]["report_allocations"])
        # alpha_big's 8 MiB sit under main -> alpha_big.
        alpha = [i for i in range(n) if "alpha_big" in self.node_path_functions(data, i)]
        self.assertGreaterEqual(sum(nodes["self_bytes"][i] for i in alpha), 8 * MIB)
        # Source lines come from the script.
        sources = [data["strings"][i] for i in data["frames"]["source"]]
        self.assertIn("return gamma_outer()", sources)
        meta = data["metadata"]
        self.assertGreaterEqual(meta["peak_bytes"], meta["report_bytes"])
        self.assertFalse(meta["ended_abruptly"])
        self.assertTrue(data["memory"]["time_ms"], "memory samples")

    def test_import_system_frames_are_flagged(self):
        self.report("flamegraph", "-o", self.tmp / "f.html", self.capture)
        data = report_data(self.tmp / "f.html")
        strings, frames = data["strings"], data["frames"]
        flagged = {strings[frames["file"][i]] for i, flags in enumerate(frames["flags"]) if flags & 1}
        self.assertTrue(flagged, "some frames are in the import system")
        self.assertTrue(all(name.startswith("<frozen importlib") for name in flagged), flagged)
        files = {strings[f] for f in frames["file"]}
        self.assertIn(str(self.tmp / "heavy_module.py"), files)

    def test_refuses_to_overwrite_without_force(self):
        output = self.tmp / "out.html"
        output.write_text("keep me")
        process = self.report("flamegraph", "-o", output, self.capture, expect=1)
        self.assertIn("will not overwrite without --force", process.stderr)
        self.assertEqual(output.read_text(), "keep me")
        self.report("flamegraph", "-f", "-o", output, self.capture)
        self.assertIn("memray-data", output.read_text())

    def test_leaks_and_temporary(self):
        self.report("flamegraph", "--leaks", "-o", self.tmp / "leaks.html", self.capture)
        self.assertEqual(report_data(self.tmp / "leaks.html")["report"], "leaks")
        self.report("flamegraph", "--temporary-allocations", "-o", self.tmp / "temp.html", self.capture)
        data = report_data(self.tmp / "temp.html")
        self.assertEqual(data["report"], "temporary")
        self.assertEqual(data["metadata"]["temporary_threshold"], 1)
        self.assertIn("epsilon_temporary", function_names(data))

    def test_temporal(self):
        self.report("flamegraph", "--temporal", "-o", self.tmp / "t.html", self.capture)
        data = report_data(self.tmp / "t.html")
        temporal = data["temporal"]
        slices, intervals = temporal["slices"], temporal["intervals"]
        self.assertTrue(slices["start_ms"])
        n_nodes = len(data["nodes"]["frame"])
        self.assertTrue(all(0 <= node < n_nodes for node in intervals["node"]))
        # The initial view is the whole capture's peak, recomputed here the documented way.
        best = 0
        for s, heap in enumerate(slices["heap"]):
            if heap >= slices["heap"][best]:
                best = s
        total = sum(b for f, t, b in zip(intervals["from"], intervals["to"], intervals["bytes"])
                    if f <= best and (t == -1 or best < t))
        self.assertEqual(total, sum(data["self"]["bytes"]))

    def test_split_threads_table(self):
        self.report("table", "--split-threads", "-o", self.tmp / "table.html", self.capture)
        data = report_data(self.tmp / "table.html")
        self.assertEqual(data["view"], "table")
        self.assertTrue(data["split_threads"])
        self.assertTrue(any(name.startswith("worker") for name in data["threads"]), data["threads"])
        table = data["table"]
        self.assertEqual(sum(table["bytes"]), data["metadata"]["report_bytes"])
        self.assertEqual(table["bytes"], sorted(table["bytes"], reverse=True))
        allocators = {data["strings"][i] for i in table["allocator"]}
        self.assertLessEqual(allocators, {"malloc", "calloc", "realloc", "mmap", "posix_memalign",
                                          "aligned_alloc", "memalign", "valloc", "pvalloc",
                                          "pymalloc_malloc", "pymalloc_calloc", "pymalloc_realloc"})
        tops = {data["strings"][data["frames"]["function"][f]] for f in table["frame"] if f >= 0}
        self.assertIn("worker_thread_body", tops)
        # Before 3.12 a list comprehension is a frame of its own, the top one of alpha_big's list.
        self.assertTrue({"alpha_big", "<listcomp>"} & tops, tops)

    def test_usage_errors(self):
        process = self.report("flamegraph", "--temporal", "--temporary-allocations", self.capture, expect=2)
        self.assertIn("--temporal", process.stderr)
        self.report("flamegraph", "--leaks", "--temporary-allocations", self.capture, expect=2)
        self.report("table", "--temporal", self.capture, expect=2)
        self.report("flamegraph", "--max-memory-records", "0", self.capture, expect=2)
        self.report("flamegraph", expect=2)

    def test_bad_captures(self):
        process = self.report("flamegraph", self.tmp / "missing.bin", expect=1)
        self.assertEqual(len(process.stderr.strip().splitlines()), 1, process.stderr)
        junk = self.tmp / "junk.bin"
        junk.write_bytes(b"not a capture at all" * 10)
        process = self.report("table", junk, expect=1)
        self.assertEqual(len(process.stderr.strip().splitlines()), 1, process.stderr)
        self.assertFalse((self.tmp / "memray-table-junk.html").exists())


if __name__ == "__main__":
    unittest.main()
