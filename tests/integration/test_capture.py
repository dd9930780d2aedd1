"""What a capture contains: `memray run` (or the payload's API) on a real interpreter, read back
with `memray parse`. Runs once per interpreter under test (tests/cmake/capture.cmake)."""

import os
import signal
import sys
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

PROBES = lib.BUILD_DIR / "tests" / "lib"
ALLOCATORS_PROBE = PROBES / "libmemray_test_allocators.so"
THREADS_PROBE = PROBES / "libmemray_test_threads.so"


def script_frames(capture, allocation, script):
    """The allocation's stack as (function, line) pairs, innermost first, for frames of `script`."""
    return [(name, line) for name, file, line in capture.stack(allocation["stack"])
            if Path(file).name == Path(script).name]


def allocations_of(capture, allocator, size=None):
    return [a for a in capture.allocations
            if a["allocator"] == allocator and (size is None or a["size"] == size)]


def bytearrays(capture, length):
    """Allocations of bytearray(length): malloc(length + 1), for the trailing NUL."""
    return allocations_of(capture, "malloc", length + 1)


def freed(capture, allocation):
    """The deallocations of `allocation`'s block: those of its address after it, up to the
    next allocation that reuses the address."""
    index = capture.records.index(allocation)
    frees = []
    for record in capture.records[index + 1:]:
        if record.get("address") != allocation["address"]:
            continue
        if record.kind == "ALLOCATION":
            break
        if record.kind == "DEALLOCATION":
            frees.append(record)
    return frees


def thread_names(capture):
    """tid -> list of names in the order they were recorded."""
    names = {}
    for record in capture.of_kind("THREAD_NAME"):
        names.setdefault(record["tid"], []).append(record["name"])
    return names


def line_of(script, marker):
    """The 1-based line of `script` that contains `marker`."""
    for number, text in enumerate(Path(script).read_text().splitlines(), 1):
        if marker in text:
            return number
    raise AssertionError("no line with %r" % marker)


class CaptureTests(lib.TempDirTestCase):
    def run_ok(self, source, options=(), **kwargs):
        result = lib.run_script(self.tmp, source, options=options, **kwargs)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        return result, lib.parse_capture(result.capture)

    def test_exact_python_stack_with_files_and_lines(self):
        result, capture = self.run_ok("""
            def foo():
                return bytearray(3_000_001)  # allocation
            def bar():
                return foo()  # call foo
            keep = bar()  # call bar
        """)
        [allocation] = bytearrays(capture, 3_000_001)
        script = result.script
        self.assertEqual(
            capture.stack(allocation["stack"]),
            [("foo", str(script), line_of(script, "# allocation")),
             ("bar", str(script), line_of(script, "# call foo")),
             ("<module>", str(script), line_of(script, "# call bar"))])

    def test_each_allocator_gives_one_record_and_a_matching_free(self):
        result, capture = self.run_ok("""
            import ctypes
            probe = ctypes.CDLL(%r)
            for name in ("malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc",
                         "memalign", "valloc", "pvalloc", "mmap", "new", "free", "munmap",
                         "delete"):
                getattr(probe, "probe_" + name).restype = ctypes.c_void_p
                getattr(probe, "probe_" + name).argtypes = None
            V = ctypes.c_void_p
            S = ctypes.c_size_t
            def run():
                probe.probe_free(V(probe.probe_malloc(S(100001))))
                probe.probe_free(V(probe.probe_calloc(S(1000), S(103))))
                first = probe.probe_malloc(S(1000))
                probe.probe_free(V(probe.probe_realloc(V(first), S(100004))))
                probe.probe_free(V(probe.probe_posix_memalign(S(64), S(100005))))
                probe.probe_free(V(probe.probe_aligned_alloc(S(64), S(100032))))
                probe.probe_free(V(probe.probe_memalign(S(64), S(100007))))
                probe.probe_free(V(probe.probe_valloc(S(100008))))
                probe.probe_free(V(probe.probe_pvalloc(S(100009))))
                probe.probe_munmap(V(probe.probe_mmap(S(3 * 4096))), S(3 * 4096))
                probe.probe_delete(V(probe.probe_new(S(100011))))
            run()
        """ % str(ALLOCATORS_PROBE))
        expected = [("malloc", 100001), ("calloc", 103000), ("realloc", 100004),
                    ("posix_memalign", 100005), ("aligned_alloc", 100032),
                    ("memalign", 100007), ("valloc", 100008), ("pvalloc", 100009),
                    ("mmap", 3 * 4096), ("malloc", 100011)]
        for allocator, size in expected:
            with self.subTest(allocator=allocator, size=size):
                records = allocations_of(capture, allocator, size)
                self.assertEqual(len(records), 1, records)
                frees = freed(capture, records[0])
                self.assertEqual(len(frees), 1, frees)
                want = "munmap" if allocator == "mmap" else "free"
                self.assertEqual(frees[0]["deallocator"], want)
                if allocator == "mmap":
                    self.assertEqual(frees[0]["size"], 3 * 4096)
                self.assertIn("run", [f[0] for f in capture.stack(records[0]["stack"])])
        # realloc: the old block is freed first, then the new one appears as a realloc.
        # (Importing ctypes under the capture may malloc(1000) too: the one made in run() counts.)
        [old] = [a for a in allocations_of(capture, "malloc", 1000)
                 if "run" in [f[0] for f in capture.stack(a["stack"])]]
        self.assertEqual(len(freed(capture, old)), 1)

    def test_python_allocators_are_traced_only_when_asked(self):
        source = """
            import ctypes
            api = ctypes.pythonapi
            for name in ("PyMem_Malloc", "PyObject_Malloc", "PyMem_RawMalloc"):
                getattr(api, name).restype = ctypes.c_void_p
                getattr(api, name).argtypes = [ctypes.c_size_t]
            for name in ("PyMem_Free", "PyObject_Free", "PyMem_RawFree"):
                getattr(api, name).argtypes = [ctypes.c_void_p]
            api.PyMem_Free(api.PyMem_Malloc(311))
            api.PyObject_Free(api.PyObject_Malloc(312))
            api.PyMem_RawFree(api.PyMem_RawMalloc(313))
        """
        _, capture = self.run_ok(source, options=["--trace-python-allocators"])
        for line, size in ((9, 311), (10, 312), (11, 313)):
            with self.subTest(size=size):
                # Made on its line of the script (importing ctypes may allocate these sizes too).
                [record] = [a for a in allocations_of(capture, "pymalloc_malloc", size)
                            if capture.stack(a["stack"])[0][2] == line]
                frees = freed(capture, record)
                self.assertEqual([f["deallocator"] for f in frees], ["pymalloc_free"])
        _, untraced = self.run_ok(source, output="untraced.bin")
        self.assertFalse([a for a in untraced.allocations if a["allocator"].startswith("pymalloc")])

    def test_thread_names_python_renames_and_prctl(self):
        _, capture = self.run_ok("""
            import ctypes, threading
            probe = ctypes.CDLL(%r)
            def work():
                bytearray(2_000_001)
                threading.current_thread().name = "renamed-inside"
                bytearray(2_000_002)
            thread = threading.Thread(target=work, name="named-before-start")
            thread.start(); thread.join()
            probe.allocate_in_native_thread(ctypes.c_size_t(2_100_003))
        """ % str(THREADS_PROBE))
        names = thread_names(capture)
        [first] = bytearrays(capture, 2_000_001)
        [second] = bytearrays(capture, 2_000_002)
        self.assertEqual(first["tid"], second["tid"])
        self.assertEqual(names[first["tid"]], ["named-before-start", "renamed-inside"])
        # The rename is recorded between the two allocations.
        rename = next(r for r in capture.of_kind("THREAD_NAME") if r["name"] == "renamed-inside")
        order = capture.records.index
        self.assertLess(order(first), order(rename))
        self.assertLess(order(rename), order(second))
        [native] = allocations_of(capture, "malloc", 2_100_003)
        self.assertEqual(names[native["tid"]], ["native-worker"])
        self.assertEqual(capture.stack(native["stack"]), [])
        main = next(t for t in capture.of_kind("THREAD_START") if t["os_tid"] == capture.header["pid"])
        self.assertEqual(names[main["tid"]], ["MainThread"])

    def test_thread_names_when_threading_is_looked_up_before_it_is_imported(self):
        # The payload waits for the program's own `import threading` to follow thread names.
        # A lookup that imports nothing (importlib.util.find_spec) must not end that wait.
        _, capture = self.run_ok("""
            import importlib.util
            assert importlib.util.find_spec("threading") is not None
            import threading
            def work():
                bytearray(2_000_006)
            thread = threading.Thread(target=work, name="after-a-lookup")
            thread.start(); thread.join()
        """)
        [allocation] = bytearrays(capture, 2_000_006)
        self.assertEqual(thread_names(capture)[allocation["tid"]], ["after-a-lookup"])

    def test_threads_created_in_c_that_take_the_gil(self):
        result, capture = self.run_ok("""
            import ctypes
            probe = ctypes.CDLL(%r)  # releases the GIL for the call, so the thread can take it
            def callback():
                return bytearray(2_000_004)  # in the callback
            probe.run_in_native_thread(ctypes.py_object(callback), b"c-thread")
        """ % str(THREADS_PROBE))
        [allocation] = bytearrays(capture, 2_000_004)
        self.assertEqual(script_frames(capture, allocation, result.script),
                         [("callback", line_of(result.script, "# in the callback"))])
        self.assertEqual(thread_names(capture)[allocation["tid"]], ["c-thread"])

    def test_thread_started_before_the_capture_and_frames_already_on_the_stack(self):
        # Started through the payload's API, as `memray attach` will start it: a thread that
        # is already running, and frames entered before the start, are captured whole.
        script = lib.write_file(self.tmp / "late_start.py", """
            import ctypes, sys, threading
            payload = ctypes.CDLL(sys.argv[1])
            started, go, done = threading.Event(), threading.Event(), threading.Event()
            def worker_inner():
                go.wait()
                bytearray(2_000_005)  # worker allocation
                done.set()
            def worker():
                started.set()
                worker_inner()  # call inner
            def outer():
                inner()  # call inner from outer
            def inner():
                config = ("output=%s\\nstop_at_exit=0\\n" % sys.argv[2]).encode()
                assert payload.memray_start(config) == 0
                bytearray(2_000_006)  # main allocation
            thread = threading.Thread(target=worker, name="early")
            thread.start(); started.wait()
            outer()  # call outer
            go.set(); done.wait(); thread.join()
            assert payload.memray_stop() == 0
        """)
        capture_path = self.tmp / "late.bin"
        process = lib.run_python([script, lib.real_payload(), capture_path])
        self.assertEqual(process.returncode, 0, process.stderr)
        capture = lib.parse_capture(capture_path)
        [worker] = bytearrays(capture, 2_000_005)
        self.assertEqual(script_frames(capture, worker, script),
                         [("worker_inner", line_of(script, "# worker allocation")),
                          ("worker", line_of(script, "# call inner"))])
        self.assertEqual(thread_names(capture)[worker["tid"]], ["early"])
        [main] = bytearrays(capture, 2_000_006)
        self.assertEqual(script_frames(capture, main, script),
                         [("inner", line_of(script, "# main allocation")),
                          ("outer", line_of(script, "# call inner from outer")),
                          ("<module>", line_of(script, "# call outer"))])

    def test_start_and_stop_many_times_in_one_process(self):
        script = lib.write_file(self.tmp / "cycles.py", """
            import ctypes, sys
            payload = ctypes.CDLL(sys.argv[1])
            payload.memray_last_error.restype = ctypes.c_char_p
            for cycle in range(5):
                config = ("output=%s.%d\\nstop_at_exit=0\\n" % (sys.argv[2], cycle)).encode()
                assert payload.memray_start(config) == 0, payload.memray_last_error()
                assert payload.memray_start(config) != 0  # one capture at a time
                bytearray(1_000_000 + cycle)
                assert payload.memray_stop() == 0
            assert payload.memray_stop() != 0  # nothing active
            bytearray(5_000_000)  # not tracked: must not crash either
        """)
        base = self.tmp / "cycle.bin"
        process = lib.run_python([script, lib.real_payload(), base])
        self.assertEqual(process.returncode, 0, process.stderr)
        for cycle in range(5):
            capture = lib.parse_capture("%s.%d" % (base, cycle))
            self.assertEqual(capture.end["state"], "complete")
            sizes = [a["size"] - 1 for a in allocations_of(capture, "malloc") if a["size"] > 1_000_000]
            self.assertEqual(sizes, [1_000_000 + cycle])

    def test_header_and_memory_samples(self):
        result, capture = self.run_ok("""
            from capture_waits import wait_for_samples
            wait_for_samples(5)
        """, args=["an-argument"])
        header = capture.header
        self.assertEqual(header["command_line"], "%s an-argument" % result.script)
        major, minor = lib.python_version()
        self.assertTrue(header["python_version"].startswith("%d.%d." % (major, minor)))
        samples = capture.of_kind("MEMORY")
        self.assertGreaterEqual(len(samples), 5)  # every 10 ms
        self.assertTrue(all(s["rss"] > 1_000_000 for s in samples))
        self.assertEqual(capture.end["state"], "complete")

    def test_sigkill_leaves_a_readable_capture(self):
        result = lib.run_script(self.tmp, """
            import os, signal
            from capture_waits import wait_for_samples
            keep = [bytearray(1_000_000 + i) for i in range(20)]
            wait_for_samples()  # the records before it are in the file
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        self.assertEqual(result.process.returncode, -signal.SIGKILL)
        capture = lib.parse_capture(result.capture)
        self.assertNotEqual(capture.end["state"], "complete")
        sizes = {a["size"] - 1 for a in allocations_of(capture, "malloc")}
        self.assertTrue({1_000_000 + i for i in range(20)} <= sizes)

    def test_os_exit_still_finishes_the_capture(self):
        # os._exit runs no atexit handler; the payload's _exit hook writes the last records.
        result = lib.run_script(self.tmp, """
            import os
            keep = bytearray(2_000_011)
            os._exit(7)
        """)
        self.assertEqual(result.process.returncode, 7)
        capture = lib.parse_capture(result.capture)
        self.assertEqual(capture.end["state"], "complete")
        self.assertEqual(len(bytearrays(capture, 2_000_011)), 1)

    def test_module_and_code_string(self):
        lib.write_file(self.tmp / "pkg" / "__init__.py", "")
        lib.write_file(self.tmp / "pkg" / "mod.py", """
            def allocate():
                return bytearray(2_000_007)
            keep = allocate()
        """)
        output = self.tmp / "module.bin"
        process = lib.run_memray(["run", "--python", lib.test_python(), "-q", "-o", output,
                                  "-m", "pkg.mod"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        capture = lib.parse_capture(output)
        [allocation] = bytearrays(capture, 2_000_007)
        frames = capture.stack(allocation["stack"])
        self.assertEqual(frames[0][:2], ("allocate", str(self.tmp / "pkg" / "mod.py")))
        self.assertEqual(frames[1][:2], ("<module>", str(self.tmp / "pkg" / "mod.py")))

        output = self.tmp / "string.bin"
        process = lib.run_memray(["run", "--python", lib.test_python(), "-q", "-o", output,
                                  "-c", "def f():\n    return bytearray(2_000_008)\nx = f()\n"],
                                 cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        capture = lib.parse_capture(output)
        [allocation] = bytearrays(capture, 2_000_008)
        self.assertEqual(capture.stack(allocation["stack"]),
                         [("f", "<string>", 2), ("<module>", "<string>", 3)])

    def test_follow_fork_writes_one_file_per_child(self):
        source = """
            import os
            def in_child():
                return bytearray(2_000_009)
            def in_parent():
                return bytearray(2_000_010)
            pid = os.fork()
            if pid == 0:
                in_child()
                os._exit(0)
            os.waitpid(pid, 0)
            in_parent()
            print(pid)
        """
        result, capture = self.run_ok(source, options=["--follow-fork"])
        child_pid = int(result.process.stdout.strip())
        self.assertEqual(bytearrays(capture, 2_000_009), [])
        self.assertEqual(len(bytearrays(capture, 2_000_010)), 1)
        child = lib.parse_capture("%s.%d" % (result.capture, child_pid))
        self.assertEqual(child.header["pid"], child_pid)
        [allocation] = bytearrays(child, 2_000_009)
        self.assertEqual(child.stack(allocation["stack"])[0][0], "in_child")

        # Without --follow-fork the child is not tracked and writes nothing.
        result, capture = self.run_ok(source, output="nofollow.bin")
        child_pid = int(result.process.stdout.strip())
        self.assertFalse(os.path.exists("%s.%d" % (result.capture, child_pid)))
        self.assertEqual(bytearrays(capture, 2_000_009), [])

    def test_a_code_object_at_a_dead_ones_address_is_a_code_object_of_its_own(self):
        # A module's body code dies once the module is imported, and the next module's often
        # takes its address: each must still be reported under its own file, in every mode.
        source = """
            import os, sys
            directory = os.path.dirname(os.path.abspath(__file__))
            sys.path.insert(0, directory)
            for name in ("first_module", "second_module", "third_module"):
                with open(os.path.join(directory, name + ".py"), "w") as module:
                    module.write("DATA = [bytearray(100003) for _ in range(3)]\\n")
            import first_module
            import second_module
            import third_module
        """
        for options in ([], ["--trace-python-allocators"], ["--native"]):
            with self.subTest(options=options):
                _, capture = self.run_ok(source, options=options, output="code-%d.bin" % len(options[0] if options else ""))
                # malloc, or the object domain with --trace-python-allocators: bytearray(100003).
                blocks = [a for a in capture.allocations if a["size"] == 100004]
                files = sorted(next(f for _, f, _ in capture.stack(a["stack"]) if f.endswith("_module.py"))
                               for a in blocks)
                self.assertEqual([os.path.basename(f) for f in files],
                                 ["first_module.py"] * 3 + ["second_module.py"] * 3 + ["third_module.py"] * 3)

    def test_forks_inside_the_payloads_own_initialisations_leave_working_children(self):
        # MEMRAY_TEST_FORK_WINDOW_MS holds the writer thread in each memory sample, and a new
        # thread in the creation of its state, for 300 ms (payload/src/fork_window.h): both
        # used to initialise a function-local static there, and a fork inside one left the child
        # a half-taken guard, so that its writer (or its next new thread) waited forever, and
        # the parent with it. The program forks while another thread is seen inside each window
        # (asleep in nanosleep), and every child must track and finish its own capture.
        source = """
            import os, threading, time
            SLEEPING = {"35", "230"}  # nanosleep, clock_nanosleep

            def sleeping(tid):
                try:
                    with open("/proc/self/task/%d/syscall" % tid) as syscall:
                        return syscall.read().split()[0] in SLEEPING
                except (OSError, IndexError):
                    return False

            def writer_in_its_window():
                me = os.getpid()  # only ever asked on the main thread, whose tid is the pid
                return any(sleeping(int(t)) for t in os.listdir("/proc/self/task") if int(t) != me)

            def in_child():
                # A new thread in the child creates its state, and so does its main thread's
                # allocation; the child's writer samples; its _exit finishes its capture.
                worker = threading.Thread(target=lambda: bytearray(3_000_017))
                worker.start()
                worker.join()
                bytearray(2_000_009)
                os._exit(0)

            def fork_now():
                pid = os.fork()
                if pid == 0:
                    in_child()
                return pid

            children = []
            deadline = time.monotonic() + 120
            while not writer_in_its_window():
                assert time.monotonic() < deadline, "the writer never sampled"
                time.sleep(0.001)
            children.append(fork_now())  # while the writer samples
            # While a new thread creates its state (on its first allocation, which happens before
            # threading's start() returns: hence _thread, whose start does not wait). Retried if
            # the thread is missed.
            import _thread
            while True:
                assert time.monotonic() < deadline, "no new thread was caught creating its state"
                before = set(os.listdir("/proc/self/task"))
                done = _thread.allocate_lock()
                done.acquire()
                def holder():
                    bytearray(1_000_033)
                    done.release()
                _thread.start_new_thread(holder, ())
                caught = False
                while not caught and done.locked():
                    new = [int(t) for t in set(os.listdir("/proc/self/task")) - before]
                    caught = any(sleeping(t) for t in new)
                    time.sleep(0.0005)
                if caught:
                    children.append(fork_now())
                done.acquire()
                if caught:
                    break
            for pid in children:
                _, status = os.waitpid(pid, 0)
                assert status == 0, status
            print(*children)
        """
        env = lib.memray_env(extra={"MEMRAY_TEST_FORK_WINDOW_MS": "300"})
        result = lib.run_script(self.tmp, source, options=["--follow-fork"], env=env)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        for child_pid in map(int, result.process.stdout.split()):
            child = lib.parse_capture("%s.%d" % (result.capture, child_pid))
            self.assertEqual(child.end["state"], "complete")
            self.assertEqual(len(bytearrays(child, 2_000_009)), 1)
            self.assertEqual(len(bytearrays(child, 3_000_017)), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
