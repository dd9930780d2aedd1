"""Native mode (`memray run --native`): native stacks, symbolized with file and line and merged
with the Python stack, on a real interpreter (once per interpreter, tests/cmake/native.cmake).

The C and C++ probes are compiled here, with debug info, from tests/native/*.c*; captures are
read back with build/bin/memray-hybrid-dump (tests/native/hybrid_stack_dump.cpp), which prints
each allocation location's hybrid stack outermost first."""

import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import html_report_lib as html  # noqa: E402
import memray_testlib as lib  # noqa: E402
from attach_testlib import Target, attach, detach  # noqa: E402

HERE = Path(__file__).resolve().parent
C_PROBE = HERE / "native_probe.c"
CXX_PROBE = HERE / "native_thread_probe.cpp"
DUMP = lib.BUILD_DIR / "bin" / "memray-hybrid-dump"


def marker_line(source, marker):
    """The 1-based line of `source` holding the comment marker LINE:<marker>."""
    for number, text in enumerate(Path(source).read_text().splitlines(), 1):
        if "LINE:%s " % marker in text or text.rstrip().endswith("LINE:%s" % marker):
            return number
    raise AssertionError("no LINE:%s in %s" % (marker, source))


class Location:
    def __init__(self, header):
        self.fields = dict(part.split("=", 1) for part in header.split()[1:])
        self.frames = []  # (kind, function, file, line), outermost first

    @property
    def bytes(self):
        return int(self.fields["bytes"])

    @property
    def tid(self):
        return int(self.fields["tid"])

    def functions(self):
        return [frame[1] for frame in self.frames]

    def __repr__(self):
        return "\n".join(["LOCATION %s" % self.fields]
                         + ["  %s %s %s:%s" % frame for frame in self.frames])


def hybrid_locations(capture, mode=None):
    args = [str(DUMP), str(capture)] + ([mode] if mode else [])
    process = lib.run_explained(args, timeout=lib.DEFAULT_TIMEOUT)
    if process.returncode != 0:
        raise AssertionError("memray-hybrid-dump failed: %s" % process.stderr)
    locations = []
    for line in process.stdout.splitlines():
        if line.startswith("LOCATION"):
            locations.append(Location(line))
        elif line.startswith("\t") and locations:
            kind, function, file, number = line[1:].split("\t")
            locations[-1].frames.append((kind, function, file, int(number)))
    return locations


def with_size(locations, size):
    """Locations whose every allocation is `size` bytes (sizes in the tests are distinctive)."""
    return [loc for loc in locations
            if loc.bytes == size * int(loc.fields["allocations"])]


def index_of(frames, kind, function):
    for index, frame in enumerate(frames):
        if frame[0] == kind and frame[1] == function:
            return index
    return -1


class NativeModeTests(lib.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.libdir = Path(tempfile.mkdtemp(prefix="memray-native-libs-"))
        cls.c_library = cls.libdir / "libnative_probe.so"
        cls.cxx_library = cls.libdir / "libnative_thread_probe.so"
        # -O2 for real inlining, and a frame layout the way distributions build libraries.
        subprocess.run(["cc", "-g", "-O2", "-fPIC", "-shared", "-o", str(cls.c_library), str(C_PROBE)], check=True)
        subprocess.run(["c++", "-g", "-O2", "-fPIC", "-shared", "-pthread", "-o", str(cls.cxx_library),
                        str(CXX_PROBE)], check=True)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.libdir, ignore_errors=True)

    def capture(self, source, options=("--native",), output="capture.bin"):
        result = lib.run_script(self.tmp, source.replace("LIBRARY", str(self.c_library))
                                .replace("CXXLIB", str(self.cxx_library)), options=list(options),
                                output=output)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        return result

    def test_c_frames_with_files_and_lines_below_the_python_caller(self):
        result = self.capture("""\
            import ctypes
            probe = ctypes.CDLL("LIBRARY")
            probe.n1.restype = ctypes.c_void_p
            probe.release.argtypes = [ctypes.c_void_p]

            def python_caller():
                return probe.n1(123457)  # the call

            probe.release(python_caller())
            """)
        locations = with_size(hybrid_locations(result.capture), 123457)
        self.assertEqual(len(locations), 1, locations)
        frames = locations[0].frames
        source = str(C_PROBE)
        # Innermost last: n1 -> n2 -> n3, each at the line of its call, nothing after n3
        # (the payload's own intercept is not part of the program's stack).
        self.assertEqual(frames[-3:], [
            ("N", "n1", source, marker_line(C_PROBE, "n1")),
            ("N", "n2", source, marker_line(C_PROBE, "n2")),
            ("N", "n3", source, marker_line(C_PROBE, "n3")),
        ], locations[0])
        caller = index_of(frames, "P", "python_caller")
        module = index_of(frames, "P", "<module>")
        self.assertGreaterEqual(module, 0, locations[0])
        self.assertEqual(caller, module + 1, locations[0])
        self.assertEqual(frames[caller][3], 7, locations[0])
        # Between the Python caller and n1 there are only native frames (ctypes, libffi), and
        # none of CPython's call machinery.
        between = frames[caller + 1:-3]
        self.assertTrue(all(kind == "N" for kind, _, _, _ in between), locations[0])
        self.assertFalse([f for f in between if "ectorcall" in f[1] or f[1].startswith("_PyEval")],
                         locations[0])
        # Nothing above the outermost Python frame (process start-up is noise).
        self.assertEqual(frames[0][0], "P", locations[0])

    def capture_leak_through_n1(self, size):
        """A capture of python_caller() -> n1 -> n2 -> n3 -> malloc(size), never freed."""
        return self.capture("""\
            import ctypes
            probe = ctypes.CDLL("LIBRARY")
            probe.n1.restype = ctypes.c_void_p
            def python_caller():
                return probe.n1(%d)
            leaked = python_caller()
            """ % size)

    def test_the_call_tree_of_a_native_capture_is_made_of_hybrid_stacks(self):
        result = self.capture_leak_through_n1(135791)
        [node] = with_size(hybrid_locations(result.capture, "--leaks-tree"), 135791)
        [location] = with_size(hybrid_locations(result.capture), 135791)
        self.assertEqual(node.frames, location.frames)
        self.assertEqual([f[0] for f in node.frames[-3:]], ["N", "N", "N"], node)

    def test_every_reporter_marks_native_frames(self):
        result = self.capture_leak_through_n1(246801)
        source = str(C_PROBE)
        expected = {name: marker_line(C_PROBE, name) for name in ("n1", "n2", "n3")}

        def memray(*args):
            process = lib.run_memray(list(args), env=lib.memray_env(extra={"COLUMNS": "400", "LINES": "200"}))
            self.assertEqual(process.returncode, 0, process.stderr)
            return process.stdout

        # Flame graph data: frames.flags bit 2 (4) on the C frames, with their file and line.
        memray("flamegraph", "--leaks", "-o", self.tmp / "flame.html", result.capture)
        data = html.report_data(self.tmp / "flame.html")
        strings, frames = data["strings"], data["frames"]
        by_name = {}
        for i, function in enumerate(frames["function"]):
            by_name.setdefault(strings[function], []).append(i)
        for name, line in expected.items():
            [frame] = by_name[name]
            self.assertEqual((strings[frames["file"][frame]], frames["line"][frame]), (source, line))
            self.assertTrue(frames["flags"][frame] & 4, (name, frames["flags"][frame]))
        for frame in by_name["python_caller"] + by_name["<module>"]:
            self.assertFalse(frames["flags"][frame] & 4, "a Python frame is flagged native")

        # Table: the allocation site is n3, a native frame.
        memray("table", "--leaks", "-o", self.tmp / "table.html", result.capture)
        data = html.report_data(self.tmp / "table.html")
        table = data["table"]
        [row] = [i for i, size in enumerate(table["bytes"]) if size == 246801]
        frame = table["frame"][row]
        self.assertEqual(data["strings"][data["frames"]["function"][frame]], "n3")
        self.assertTrue(data["frames"]["flags"][frame] & 4)

        # Tree and summary: "[native]" before each C function, never before a Python one.
        tree = memray("tree", "--leaks", "--show-all-frames", result.capture)
        for name, line in expected.items():
            self.assertIn("[native] %s  %s:%d" % (name, source, line), tree)
        self.assertRegex(tree, r"(?m)[^\]] python_caller  ")
        self.assertNotIn("[native] python_caller", tree)
        summary = memray("summary", "--leaks", "-r", "200", result.capture)
        for name in expected:
            self.assertIn("[native] %s at %s" % (name, source), summary)
        self.assertIn(" python_caller at ", summary)
        self.assertNotIn("[native] python_caller", summary)

        # Stats: locations are innermost hybrid frames, so the C function that called malloc.
        stats = memray("stats", "-n", "50", result.capture)
        self.assertIn("[native] n3:%s:%d" % (source, expected["n3"]), stats)

    def test_an_inlined_function_is_a_frame_of_its_own(self):
        result = self.capture("""\
            import ctypes
            probe = ctypes.CDLL("LIBRARY")
            probe.with_inlined.restype = ctypes.c_void_p
            probe.release.argtypes = [ctypes.c_void_p]
            probe.release(probe.with_inlined(98765))
            """)
        locations = with_size(hybrid_locations(result.capture), 98765)
        self.assertEqual(len(locations), 1, locations)
        source = str(C_PROBE)
        self.assertEqual(locations[0].frames[-2:], [
            ("N", "with_inlined", source, marker_line(C_PROBE, "with_inlined")),
            ("N", "inlined_helper", source, marker_line(C_PROBE, "inlined_helper")),
        ], locations[0])

    def test_python_callback_called_from_c_reads_python_c_python(self):
        result = self.capture("""\
            import ctypes
            probe = ctypes.CDLL("LIBRARY")
            CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int)
            kept = []

            def python_callback(value):
                kept.append(bytearray(value))  # the allocation

            def python_outer():
                probe.call_back(CALLBACK(python_callback), 77777)

            python_outer()
            """)
        # bytearray(n) allocates n + 1 bytes.
        locations = with_size(hybrid_locations(result.capture), 77778)
        self.assertEqual(len(locations), 1, locations)
        frames = locations[0].frames
        outer = index_of(frames, "P", "python_outer")
        c_function = index_of(frames, "N", "call_back")
        callback = index_of(frames, "P", "python_callback")
        self.assertTrue(0 <= outer < c_function < callback, locations[0])
        self.assertEqual(frames[c_function][2:], (str(C_PROBE), marker_line(C_PROBE, "call_back")))
        self.assertEqual(frames[callback][3], 7, locations[0])
        self.assertEqual(index_of(frames, "P", "<module>"), 0, locations[0])

    def test_cxx_thread_that_never_runs_python_has_its_native_stack(self):
        result = self.capture("""\
            import ctypes
            probe = ctypes.CDLL("CXXLIB")
            probe.run_native_thread.argtypes = [ctypes.c_int, ctypes.c_size_t]
            probe.run_native_thread(50, 54321)
            """)
        locations = [loc for loc in with_size(hybrid_locations(result.capture), 54321)
                     if loc.tid != 1]
        self.assertTrue(locations, "no allocation of 54321 bytes outside the main thread")
        allocations = sum(int(loc.fields["allocations"]) for loc in locations)
        self.assertEqual(allocations, 50)
        for location in locations:
            frames = location.frames
            self.assertFalse([f for f in frames if f[0] == "P"], location)
            loop = [f for f in frames if "allocateInLoop" in f[1]]
            self.assertTrue(loop, location)
            self.assertEqual(loop[0][2:], (str(CXX_PROBE), marker_line(CXX_PROBE, "allocateInLoop")))
            # Below it only the C++ runtime's operator new.
            below = frames[frames.index(loop[0]) + 1:]
            self.assertTrue(all("operator new" in f[1] for f in below), location)

        # The table locates the thread's allocations at its innermost native frame (not "???",
        # although the thread has no Python stack). They are freed in the loop: temporary ones.
        table_html = self.tmp / "table.html"
        process = lib.run_memray(["table", "--temporary-allocation-threshold", "100", "-o", table_html,
                                  result.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        data = html.report_data(table_html)
        table = data["table"]
        # A site merges the allocations of one frame and allocator: operator new's include others.
        rows = [i for i, size in enumerate(table["bytes"]) if size >= 50 * 54321]
        self.assertTrue(rows, table)
        for row in rows:
            frame = table["frame"][row]
            self.assertGreaterEqual(frame, 0, "the native thread's site has no top frame")
            self.assertTrue(data["frames"]["flags"][frame] & 4, data["strings"][data["frames"]["function"][frame]])

    def test_capture_records_images_and_native_frames_only_when_asked(self):
        source = """\
            import ctypes
            probe = ctypes.CDLL("LIBRARY")
            probe.n1.restype = ctypes.c_void_p
            probe.n1(4321)
            """
        native = lib.parse_capture(self.capture(source).capture)
        self.assertEqual(native.header["native_traces"], 1)
        images = native.of_kind("IMAGE")
        self.assertTrue(any(Path(r["path"]).name == "libnative_probe.so" for r in images),
                        "the dlopen'ed library is in the image map")
        self.assertTrue(native.of_kind("NATIVE_FRAME"))
        self.assertTrue(all(a["native_stack"] > 0 for a in native.allocations))

        plain = lib.parse_capture(self.capture(source, options=(), output="plain.bin").capture)
        self.assertEqual(plain.header["native_traces"], 0)
        self.assertFalse(plain.of_kind("NATIVE_FRAME") or plain.of_kind("IMAGE"))
        self.assertNotIn("native_stack", plain.allocations[0])

    def test_attach_native_records_the_same_hybrid_stacks(self):
        target = Target(self.tmp, """
            import ctypes, sys
            probe = ctypes.CDLL(sys.argv[1])
            probe.n1.restype = ctypes.c_void_p
            def python_caller():
                return probe.n1(234567)
            print("ready", flush=True)
            for line in sys.stdin:
                kept = python_caller()
                print("allocated", flush=True)
            """, args=[self.c_library])
        target.wait_for("ready")
        output = self.tmp / "attached.bin"
        result = attach(target.pid, output, "--native")
        self.assertEqual(result.returncode, 0, result.stderr)
        target.send("go\n")
        target.wait_for("allocated")
        result = detach(target.pid)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(target.finish(), 0, target.stderr())

        locations = with_size(hybrid_locations(output), 234567)
        self.assertEqual(len(locations), 1, locations)
        frames = locations[0].frames
        self.assertEqual([f[1] for f in frames[-3:]], ["n1", "n2", "n3"], locations[0])
        caller = index_of(frames, "P", "python_caller")
        self.assertGreaterEqual(caller, 0, locations[0])
        self.assertLess(caller, len(frames) - 3, locations[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
