"""The wheel, installed fresh into a venv of the interpreter under test (and with --user into
a private user base): `python -m memray` and the `memray` script are the CLI; memray.Tracker records
what memray run records; memray.FileReader reads it back (tests/cmake/python_package.cmake).

The wheel is written once per test run by the python_wheel fixture (build/wheel/)."""

import base64
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

WHEEL_DIR = lib.BUILD_DIR / "wheel"
# What the probes allocate: large enough to stand out from the interpreter's own allocations.
PROBE_SIZE = 7 * 1024 * 1024


def the_wheel():
    wheels = sorted(WHEEL_DIR.glob("memray-*.whl"))
    if len(wheels) != 1:
        raise AssertionError("expected one wheel in %s (the python_wheel fixture), found %s" % (WHEEL_DIR, wheels))
    return wheels[0]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMRAY_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update(extra or {})
    return env


def run(command, env=None, cwd=None, timeout=300):
    return lib.run_explained([str(part) for part in command], cwd=cwd, env=env or clean_env(), timeout=timeout)


# Runs inside the venv: a Tracker around a function allocating PROBE_SIZE bytes (kept alive, so
# both at the peak and leaked), then FileReader's answers as JSON on stdout.
TRACKER_PROBE = textwrap.dedent("""\
    import json, pickle, sys, threading
    import memray

    SIZE = int(sys.argv[2])
    from_thread = []


    def thread_probe():
        from_thread.append(bytearray(SIZE))  # THREAD LINE


    def allocate_probe():
        return bytearray(SIZE)  # PROBE LINE


    def temporary_probe():
        for _ in range(3):
            block = bytearray(SIZE)  # TEMPORARY LINE
            del block


    with memray.Tracker(sys.argv[1], file_format=memray.FileFormat[sys.argv[3]]):
        kept = allocate_probe()
        worker = threading.Thread(target=thread_probe, name="probe-thread")
        worker.start()
        worker.join()
        if sys.argv[3] == "ALL_ALLOCATIONS":
            temporary_probe()

    def describe(records):
        return [{"size": r.size, "n": r.n_allocations, "allocator": int(r.allocator), "tid": r.tid,
                 "thread_name": r.thread_name, "stack": r.stack_trace(), "hybrid": r.hybrid_stack_trace(),
                 "top": r.stack_trace(max_stacks=1)} for r in records]

    reader = memray.FileReader(sys.argv[1])
    metadata = reader.metadata
    out = {
        "metadata": {k: str(v) for k, v in vars(metadata).items()},
        "file_format": metadata.file_format.name,
        "metadata_pickles": pickle.loads(pickle.dumps(metadata)) == metadata,
        "format_pickles": pickle.loads(pickle.dumps(metadata.file_format)) is metadata.file_format,
        "peak_memory": metadata.peak_memory,
        "high_watermark": describe(reader.get_high_watermark_allocation_records()),
        "leaked": describe(reader.get_leaked_allocation_records()),
        "leaked_by_thread": describe(reader.get_leaked_allocation_records(merge_threads=False)),
        "snapshots": len(list(reader.get_memory_snapshots())),
        "main_thread_id": metadata.main_thread_id,
    }
    if sys.argv[3] == "ALL_ALLOCATIONS":
        out["temporary"] = describe(reader.get_temporary_allocation_records())
        records = list(reader.get_allocation_records())
        out["raw_probe"] = [int(r.allocator) for r in records if r.size == SIZE + 1]
        out["raw_frees"] = sum(1 for r in records if r.allocator == memray.AllocatorType.FREE)
    else:
        for name in ("get_allocation_records", "get_temporary_allocation_records"):
            try:
                next(getattr(reader, name)())
            except NotImplementedError as error:
                out[name] = str(error)
    print(json.dumps(out))
""")

# Runs inside the venv: the Tracker's refusals and errors, each printed as "name: message".
REFUSALS_PROBE = textwrap.dedent("""\
    import os, sys
    import memray

    directory = sys.argv[1]
    path = lambda name: os.path.join(directory, name)

    def attempt(name, action):
        try:
            action()
        except Exception as error:
            print("%s: %s: %s" % (name, type(error).__name__, error))
        else:
            print("%s: ok" % name)

    first = memray.Tracker(path("first.bin"))
    with first:
        second = memray.Tracker(path("second.bin"))
        attempt("second", second.__enter__)
    attempt("stale", first.__enter__)
    def again():
        with memray.Tracker(path("third.bin")):
            bytearray(1000)
    attempt("again", again)
    attempt("exists", lambda: memray.Tracker(path("third.bin")))
    attempt("overwrite", lambda: memray.Tracker(destination=memray.FileDestination(path("third.bin"), overwrite=True)))
    def to_dev_null():
        with memray.Tracker(os.devnull):
            bytearray(1000)
    attempt("dev_null", to_dev_null)
    attempt("neither", lambda: memray.Tracker())
    attempt("both", lambda: memray.Tracker("x.bin", destination=memray.FileDestination("y.bin")))
    attempt("bad_dir", lambda: memray.Tracker(path("no/such/dir.bin")))
    attempt("reader_missing", lambda: memray.FileReader(path("missing.bin")))
    with open(path("not_a_capture.bin"), "w") as junk:
        junk.write("hello, not a capture\\n" * 10)
    attempt("reader_junk", lambda: memray.FileReader(path("not_a_capture.bin")))
    reader = memray.FileReader(path("first.bin"))
    reader.close()
    attempt("reader_closed", lambda: next(reader.get_high_watermark_allocation_records()))
""")


def venv_with_the_wheel(venv):
    """A fresh venv of the interpreter under test at VENV, the wheel installed: its python."""
    run([lib.test_python(), "-m", "venv", venv])
    python = Path(venv) / "bin" / "python"
    installed = run([python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", the_wheel()])
    if installed.returncode != 0:
        raise AssertionError("pip install failed:\n%s%s" % (installed.stdout, installed.stderr))
    return python


class PythonPackageTests(unittest.TestCase):
    """One venv for the whole class: installing is the slow part."""

    @classmethod
    def setUpClass(cls):
        cls.wheel = the_wheel()
        cls.root = Path(tempfile.mkdtemp(prefix="memray-venv-")).resolve()
        cls.venv = cls.root / "venv"
        cls.python = venv_with_the_wheel(cls.venv)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="memray-test-", dir=self.root)).resolve()

    def venv_env(self):
        return clean_env({"PATH": "%s:%s" % (self.venv / "bin", os.environ.get("PATH", ""))})

    def probe(self, source, *args):
        script = self.tmp / "probe.py"
        script.write_text(source)
        result = run([self.python, script] + list(args), env=self.venv_env(), cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        return script, result.stdout

    def test_python_m_memray_is_the_cli(self):
        bundled = next((self.venv / "lib").glob("python3.*/site-packages/memray/bin/memray"))
        for argv in (["--help"], ["--version"], ["no-such-command"], ["stats", self.tmp / "missing.bin"]):
            expected = run([bundled] + argv)
            for command in ([self.python, "-m", "memray"], [self.venv / "bin" / "memray"]):
                with self.subTest(command=command[-1], argv=argv):
                    result = run(command + argv, env=self.venv_env())
                    self.assertEqual(result.returncode, expected.returncode, result.stderr)
                    self.assertEqual(result.stdout, expected.stdout)
                    self.assertEqual(result.stderr, expected.stderr)
        self.assertIn("run", run([self.python, "-m", "memray", "--help"]).stdout)
        self.assertNotEqual(run([self.python, "-m", "memray", "no-such-command"]).returncode, 0)

    def test_python_m_memray_run_uses_this_interpreter(self):
        capture = self.tmp / "run.bin"
        code = "import sys; open(%r, 'w').write(sys.executable)" % str(self.tmp / "which")
        result = run([self.python, "-m", "memray", "run", "-q", "-o", capture, "-c", code],
                     env=clean_env({"PATH": "/usr/bin:/bin"}), cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((self.tmp / "which").read_text(), str(self.python))
        stats = run([self.venv / "bin" / "memray", "stats", capture])
        self.assertEqual(stats.returncode, 0, stats.stderr)

    def check_probe_location(self, records, script, marker, what):
        line = script.read_text().splitlines().index(
            next(l for l in script.read_text().splitlines() if marker in l)) + 1
        function = {"PROBE LINE": "allocate_probe", "TEMPORARY LINE": "temporary_probe",
                    "THREAD LINE": "thread_probe"}[marker]
        matching = [r for r in records if r["stack"] and tuple(r["stack"][0]) == (function, str(script), line)]
        self.assertEqual(len(matching), 1, "%s: no record at %s:%d among %s" % (
            what, script, line, json.dumps(records)[:4000]))
        record = matching[0]
        self.assertGreaterEqual(record["size"], PROBE_SIZE * record["n"], what)
        self.assertLess(record["size"], (PROBE_SIZE + 4096) * record["n"], what)
        self.assertEqual(record["top"], record["stack"][:1], what)
        self.assertEqual(record["stack"][1][0], "run" if function == "thread_probe" else "<module>", what)
        self.assertEqual(record["hybrid"], record["stack"], what)  # no native traces: the Python stack
        return record

    def test_tracker_and_file_reader(self):
        capture = self.tmp / "tracked.bin"
        script, output = self.probe(TRACKER_PROBE, capture, str(PROBE_SIZE), "ALL_ALLOCATIONS")
        out = json.loads(output)
        self.check_probe_location(out["high_watermark"], script, "PROBE LINE", "high watermark")
        leaked = self.check_probe_location(out["leaked"], script, "PROBE LINE", "leaked")
        self.assertEqual(leaked["n"], 1)
        self.assertEqual(leaked["tid"], -1)
        self.assertEqual(leaked["thread_name"], "merged thread")
        by_thread = self.check_probe_location(out["leaked_by_thread"], script, "PROBE LINE", "leaked by thread")
        self.assertEqual(by_thread["tid"], out["main_thread_id"])
        self.assertEqual(by_thread["thread_name"], "MainThread")
        in_thread = self.check_probe_location(out["leaked_by_thread"], script, "THREAD LINE", "leaked in a thread")
        self.assertNotEqual(in_thread["tid"], out["main_thread_id"])
        self.assertEqual(in_thread["thread_name"], "probe-thread")
        temporary = self.check_probe_location(out["temporary"], script, "TEMPORARY LINE", "temporary")
        self.assertEqual(temporary["n"], 3)
        self.assertGreaterEqual(out["peak_memory"], PROBE_SIZE)
        self.assertTrue(out["metadata_pickles"])
        self.assertTrue(out["format_pickles"])
        self.assertEqual(out["file_format"], "ALL_ALLOCATIONS")
        self.assertIn(str(script), out["metadata"]["command_line"])
        self.assertEqual(out["raw_probe"][:1], [6])  # MALLOC, from the raw records
        self.assertGreater(out["raw_frees"], 0)
        self.assertGreater(out["snapshots"], 0)
        # The same capture as `memray run` writes: every reporter reads it.
        memray = self.venv / "bin" / "memray"
        for argv in (["stats", capture], ["flamegraph", "-o", self.tmp / "f.html", capture],
                     ["summary", capture]):
            with self.subTest(argv=argv[0]):
                result = run([memray] + argv, env=self.venv_env())
                self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("allocate_probe", (self.tmp / "f.html").read_text())

    def test_aggregated_tracker(self):
        capture = self.tmp / "aggregated.bin"
        script, output = self.probe(TRACKER_PROBE, capture, str(PROBE_SIZE), "AGGREGATED_ALLOCATIONS")
        out = json.loads(output)
        self.check_probe_location(out["high_watermark"], script, "PROBE LINE", "high watermark")
        self.check_probe_location(out["leaked"], script, "PROBE LINE", "leaked")
        self.assertEqual(out["file_format"], "AGGREGATED_ALLOCATIONS")
        self.assertEqual(out["get_allocation_records"], "Can't get all allocations from a pre-aggregated capture file.")
        self.assertEqual(out["get_temporary_allocation_records"],
                         "Can't find temporary allocations using a pre-aggregated capture file.")

    def test_leaving_the_with_takes_the_profile_function_out_of_every_thread(self):
        # Before 3.12 the payload puts a profile function in the slot of each thread found deep
        # (sys.getprofile() cannot show it: it stays None); leaving the `with` must take it out
        # of every thread, idle ones included, and nothing may put it back untracked.
        shutil.copy(str(Path(__file__).resolve().parent / "profile_slots.py"), str(self.tmp))
        offset = lib.profile_slot_offset()
        script, output = self.probe(textwrap.dedent("""\
            import sys, threading
            import memray
            from profile_slots import occupied_profile_slots

            OFFSET = None if sys.argv[2] == "None" else int(sys.argv[2])

            def slots():
                return "-" if OFFSET is None else occupied_profile_slots(OFFSET)

            def deep(n):
                if n == 0:
                    return [bytearray(600) for _ in range(100)]
                return deep(n - 1)

            ready, done, seen = threading.Barrier(3), threading.Event(), []

            def worker():
                deep(60)
                seen.append(sys.getprofile())
                ready.wait()
                done.wait()
                deep(60)

            threads = [threading.Thread(target=worker) for _ in range(2)]
            with memray.Tracker(sys.argv[1]):
                for thread in threads:
                    thread.start()
                deep(60)
                ready.wait()
                print("during", slots(), seen, sys.getprofile())
            print("after", slots())
            done.set()
            for thread in threads:
                thread.join()
            print("untracked", slots())
            """), self.tmp / "with.bin", str(offset))
        profiled = offset is not None
        self.assertEqual(output.splitlines(), [
            "during %s [None, None] None" % (3 if profiled else "-"),
            "after %s" % (0 if profiled else "-"),
            "untracked %s" % (0 if profiled else "-")])

    def test_frames_above_the_with_are_left_out(self):
        # memray's rule: the stacks of the thread that entered the Tracker start at the frame
        # holding the `with`; its callers (outer, <module>) are left out, other threads keep
        # theirs whole. A Tracker entered in a thread makes that thread the main one.
        first, second = self.tmp / "entered.bin", self.tmp / "in_thread.bin"
        script, output = self.probe(textwrap.dedent("""\
            import json, sys, threading
            import memray

            SIZE = int(sys.argv[3])
            from_thread = []

            def allocate_probe():
                return bytearray(SIZE)  # PROBE LINE

            def thread_probe():
                from_thread.append(bytearray(SIZE))  # THREAD LINE

            def enter_here(path):
                with memray.Tracker(path):
                    kept = allocate_probe()
                    worker = threading.Thread(target=thread_probe)
                    worker.start()
                    worker.join()
                return kept

            def outer(path):
                return enter_here(path)

            kept = [outer(sys.argv[1])]
            entered_in_thread = threading.Thread(target=lambda: kept.append(enter_here(sys.argv[2])), name="entering")
            entered_in_thread.start()
            entered_in_thread.join()

            def describe(path):
                reader = memray.FileReader(path)
                return {"main_thread_id": reader.metadata.main_thread_id,
                        "records": [{"tid": r.tid, "thread_name": r.thread_name, "stack": r.stack_trace(),
                                     "hybrid": r.hybrid_stack_trace()}
                                    for r in reader.get_leaked_allocation_records(merge_threads=False)
                                    if r.size >= SIZE]}
            print(json.dumps([describe(sys.argv[1]), describe(sys.argv[2])]))
        """), first, second, str(PROBE_SIZE))
        lines = script.read_text().splitlines()
        at = lambda marker: next(i for i, text in enumerate(lines, 1) if marker in text)
        with_line = at("with memray.Tracker")
        entered, in_thread = json.loads(output)

        by_function = {r["stack"][0][0]: r for r in entered["records"]}
        self.assertEqual(by_function["allocate_probe"]["stack"], [
            ["allocate_probe", str(script), at("PROBE LINE")], ["enter_here", str(script), with_line + 1]])
        self.assertEqual(by_function["allocate_probe"]["hybrid"], by_function["allocate_probe"]["stack"])
        self.assertEqual(by_function["allocate_probe"]["tid"], entered["main_thread_id"])
        self.assertEqual(by_function["allocate_probe"]["thread_name"], "MainThread")
        # Another thread's stack is whole: thread_probe, then threading's frames to the bottom.
        other = by_function["thread_probe"]
        self.assertNotEqual(other["tid"], entered["main_thread_id"])
        self.assertEqual(other["stack"][1][0], "run")
        self.assertGreaterEqual(len(other["stack"]), 4, other)

        self.assertEqual(len(in_thread["records"]), 2, in_thread)
        by_function = {r["stack"][0][0]: r for r in in_thread["records"]}
        self.assertEqual([f[0] for f in by_function["allocate_probe"]["stack"]], ["allocate_probe", "enter_here"])
        self.assertEqual(by_function["allocate_probe"]["thread_name"], "entering")
        self.assertEqual(by_function["allocate_probe"]["tid"], in_thread["main_thread_id"])
        self.assertEqual(by_function["thread_probe"]["stack"][1][0], "run")

        # The reporters read the same stacks: enter_here is the root, outer and <module> absent.
        memray = self.venv / "bin" / "memray"
        tree = run([memray, "tree", first], env=self.venv_env())
        self.assertEqual(tree.returncode, 0, tree.stderr)
        self.assertIn("enter_here", tree.stdout)
        self.assertIn("allocate_probe", tree.stdout)
        self.assertNotIn("outer", tree.stdout)
        self.assertNotIn("<module>", tree.stdout)

    def test_native_traces(self):
        capture = self.tmp / "native.bin"
        script, output = self.probe(textwrap.dedent("""\
            import json, sys
            import memray

            def allocate_probe():
                return bytearray(int(sys.argv[2]))  # PROBE LINE

            with memray.Tracker(sys.argv[1], native_traces=True):
                kept = allocate_probe()
            reader = memray.FileReader(sys.argv[1])
            records = [r for r in reader.get_leaked_allocation_records() if r.size >= int(sys.argv[2])]
            print(json.dumps({"native": reader.metadata.has_native_traces,
                              "stacks": [(r.native_stack_trace(), r.hybrid_stack_trace()) for r in records]}))
        """), capture, str(PROBE_SIZE))
        out = json.loads(output)
        self.assertTrue(out["native"])
        self.assertEqual(len(out["stacks"]), 1, output)
        native, hybrid = out["stacks"][0]
        self.assertTrue(native, output)
        for function, file, line in native + hybrid:
            self.assertIsInstance(function, str)
            self.assertIsInstance(file, str)
            self.assertIsInstance(line, int)
        line = next(i for i, text in enumerate(script.read_text().splitlines(), 1) if "PROBE LINE" in text)
        self.assertIn(["allocate_probe", str(script), line], hybrid)
        # Native frames first (most recent call first), then the Python frames that called them.
        self.assertNotEqual(hybrid[0][0], "allocate_probe", output)

    def test_refusals_and_errors(self):
        _, output = self.probe(REFUSALS_PROBE, self.tmp)
        said = dict(line.split(": ", 1) for line in output.splitlines())
        d = self.tmp
        self.assertEqual(said["second"],
                         "RuntimeError: No more than one Tracker instance can be active at the same time")
        self.assertEqual(said["stale"], "RuntimeError: Attempting to use stale output handle")
        self.assertEqual(said["again"], "ok")
        self.assertEqual(said["exists"], "OSError: Output file %s already exists. Memray can overwrite it with "
                         "the --force CLI argument or the overwrite=True API argument." % (d / "third.bin"))
        self.assertEqual(said["overwrite"], "ok")
        self.assertEqual(said["dev_null"], "ok")
        self.assertEqual(said["neither"],
                         "TypeError: Exactly one of 'file_name' or 'destination' argument must be specified")
        self.assertEqual(said["both"], said["neither"])
        self.assertEqual(said["bad_dir"], "OSError: Could not create output file %s: No such file or directory"
                         % (d / "no" / "such" / "dir.bin"))
        self.assertEqual(said["reader_missing"],
                         "OSError: Could not open file %s: No such file or directory" % (d / "missing.bin"))
        self.assertTrue(said["reader_junk"].startswith("OSError: "), said["reader_junk"])
        self.assertIn(str(d / "not_a_capture.bin"), said["reader_junk"])
        self.assertEqual(said["reader_closed"], "ValueError: Operation on a closed FileReader")
        self.assertEqual(len(said), 12, output)

    def test_file_reader_sums_match_a_synthetic_capture(self):
        # memray-synth knows what it wrote: peak and final heap, allocations and deallocations
        # over 4 threads. FileReader's rows, merged or per thread, must add up to exactly that.
        capture = self.tmp / "synth.bin"
        synth = run([lib.BUILD_DIR / "bin" / "memray-synth", "-o", capture, "-n", "20000", "-s", "300"])
        self.assertEqual(synth.returncode, 0, synth.stderr)
        expected = dict(field.split("=") for field in synth.stdout.split())
        _, output = self.probe(textwrap.dedent("""\
            import json, sys
            import memray
            reader = memray.FileReader(sys.argv[1])
            frees = (memray.AllocatorType.FREE, memray.AllocatorType.MUNMAP, memray.AllocatorType.PYMALLOC_FREE)
            raw = list(reader.get_allocation_records())
            sizes = lambda records: sum(r.size for r in records)
            print(json.dumps({
                "peak_memory": reader.metadata.peak_memory,
                "total_allocations": reader.metadata.total_allocations,
                "peak": sizes(reader.get_high_watermark_allocation_records()),
                "peak_by_thread": sizes(reader.get_high_watermark_allocation_records(merge_threads=False)),
                "leaked": sizes(reader.get_leaked_allocation_records()),
                "leaked_by_thread": sizes(reader.get_leaked_allocation_records(merge_threads=False)),
                "threads": sorted({r.tid for r in reader.get_leaked_allocation_records(merge_threads=False)}),
                "allocations": sum(1 for r in raw if r.allocator not in frees),
                "deallocations": sum(1 for r in raw if r.allocator in frees),
            }))
        """), capture)
        out = json.loads(output)
        self.assertEqual(out["peak_memory"], int(expected["peak_bytes"]))
        self.assertEqual(out["peak"], int(expected["peak_bytes"]))
        self.assertEqual(out["peak_by_thread"], int(expected["peak_bytes"]))
        self.assertEqual(out["leaked"], int(expected["final_bytes"]))
        self.assertEqual(out["leaked_by_thread"], int(expected["final_bytes"]))
        self.assertEqual(out["total_allocations"], int(expected["allocations"]))
        self.assertEqual(out["allocations"], int(expected["allocations"]))
        self.assertEqual(out["deallocations"], int(expected["deallocations"]))
        self.assertEqual(len(out["threads"]), 4)

    def test_wheel_record_lists_every_file_with_its_hash(self):
        with zipfile.ZipFile(str(self.wheel)) as archive:
            names = archive.namelist()
            record_name = next(n for n in names if n.endswith(".dist-info/RECORD"))
            listed = {}
            for line in archive.read(record_name).decode().splitlines():
                name, digest, size = line.rsplit(",", 2)
                listed[name] = (digest, size)
            self.assertEqual(sorted(listed), sorted(names))
            for name in names:
                if name == record_name:
                    continue
                data = archive.read(name)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual(listed[name], ("sha256=" + digest, str(len(data))), name)
            executable = archive.getinfo("memray/bin/memray").external_attr >> 16
            self.assertTrue(executable & 0o111, oct(executable))

    def test_signatures_are_memrays_and_the_annotations_resolve(self):
        # A program written against memray's documented API must find the same parameters
        # (names, kinds, defaults); the inline annotations py.typed promises must resolve on
        # this interpreter (typing.get_type_hints evaluates them, as editors and checkers do).
        _, output = self.probe(textwrap.dedent("""\
            import inspect, json, typing
            import memray, memray._records

            def describe(function):
                return [[p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None]
                        for p in inspect.signature(function).parameters.values()]

            targets = {
                "Tracker": memray.Tracker.__init__,
                "FileReader": memray.FileReader.__init__,
                "FileDestination": memray.FileDestination.__init__,
                "SocketDestination": memray.SocketDestination.__init__,
                "get_high_watermark_allocation_records": memray.FileReader.get_high_watermark_allocation_records,
                "get_leaked_allocation_records": memray.FileReader.get_leaked_allocation_records,
                "get_temporary_allocation_records": memray.FileReader.get_temporary_allocation_records,
                "get_allocation_records": memray.FileReader.get_allocation_records,
                "get_memory_snapshots": memray.FileReader.get_memory_snapshots,
                "stack_trace": memray.AllocationRecord.stack_trace,
                "native_stack_trace": memray.AllocationRecord.native_stack_trace,
                "hybrid_stack_trace": memray.AllocationRecord.hybrid_stack_trace,
            }
            hints_failed = []
            for module in (memray._tracker, memray._reader, memray._records, memray._destination,
                           memray._metadata, memray._live_helper):
                for name, value in vars(module).items():
                    for function in [value] + [v for v in vars(value).values()] if inspect.isclass(value) else [value]:
                        function = getattr(function, "fget", function)
                        if inspect.isfunction(function) and function.__module__ == module.__name__:
                            try:
                                typing.get_type_hints(function)
                            except Exception as error:
                                hints_failed.append("%s.%s: %r" % (module.__name__, function.__qualname__, error))
            print(json.dumps({"signatures": {name: describe(f) for name, f in targets.items()},
                              "metadata_fields": sorted(memray.Metadata.__dataclass_fields__),
                              "hints_failed": hints_failed}))
        """))
        out = json.loads(output)
        kw, pos = "KEYWORD_ONLY", "POSITIONAL_OR_KEYWORD"
        signatures = {name: [tuple(p) for p in params] for name, params in out["signatures"].items()}
        self.assertEqual(signatures["Tracker"], [
            ("self", pos, None), ("file_name", pos, "None"), ("destination", kw, "None"),
            ("native_traces", kw, "False"), ("memory_interval_ms", kw, "10"), ("follow_fork", kw, "False"),
            ("trace_python_allocators", kw, "False"), ("track_object_lifetimes", kw, "False"),
            ("file_format", kw, "<FileFormat.ALL_ALLOCATIONS: 1>")])
        self.assertEqual(signatures["FileReader"], [
            ("self", pos, None), ("file_name", pos, None), ("report_progress", kw, "False"),
            ("max_memory_records", kw, "10000")])
        self.assertEqual(signatures["FileDestination"], [
            ("self", pos, None), ("path", pos, None), ("overwrite", pos, "False"),
            ("compress_on_exit", pos, "True"), ("buffered", pos, "False")])
        self.assertEqual(signatures["SocketDestination"], [
            ("self", pos, None), ("server_port", pos, None), ("address", pos, "'127.0.0.1'")])
        for name in ("get_high_watermark_allocation_records", "get_leaked_allocation_records"):
            self.assertEqual(signatures[name], [("self", pos, None), ("merge_threads", pos, "True")])
        self.assertEqual(signatures["get_temporary_allocation_records"], [
            ("self", pos, None), ("merge_threads", pos, "True"), ("threshold", pos, "1")])
        for name in ("get_allocation_records", "get_memory_snapshots"):
            self.assertEqual(signatures[name], [("self", pos, None)])
        for name in ("stack_trace", "native_stack_trace", "hybrid_stack_trace"):
            self.assertEqual(signatures[name], [("self", pos, None), ("max_stacks", pos, "None")])
        self.assertEqual(out["metadata_fields"], sorted([
            "start_time", "end_time", "total_allocations", "total_frames", "peak_memory", "command_line", "pid",
            "main_thread_id", "python_allocator", "has_native_traces", "trace_python_allocators", "file_format"]))
        self.assertEqual(out["hints_failed"], [])

    def test_package_is_typed(self):
        result = run([self.python, "-c", "import memray, os; print(os.path.dirname(memray.__file__))"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((Path(result.stdout.strip()) / "py.typed").is_file())


def externally_managed():
    """Whether pip refuses --user installs into the interpreter under test (PEP 668: Debian's
    own Python), unless told --break-system-packages."""
    check = run([lib.test_python(), "-c", "import os, sysconfig; print(os.path.exists(os.path.join("
                 "sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"])
    return check.stdout.strip() == "True"


class UserInstallTests(unittest.TestCase):
    def test_user_install(self):
        root = Path(tempfile.mkdtemp(prefix="memray-user-")).resolve()
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        env = clean_env({"HOME": str(root / "home"), "PYTHONUSERBASE": str(root / "userbase")})
        # The user base is a fresh directory of this test's: nothing of the system's is touched.
        debian_flag = ["--break-system-packages"] if externally_managed() else []
        installed = run([lib.test_python(), "-m", "pip", "install", "--user", "--no-index",
                         "--disable-pip-version-check"] + debian_flag + [the_wheel()], env=env)
        self.assertEqual(installed.returncode, 0, installed.stderr)
        version = run([root / "userbase" / "bin" / "memray", "--version"], env=env)
        self.assertEqual(version.returncode, 0, version.stderr)
        where = run([lib.test_python(), "-c", "import memray; print(memray.__file__, memray.__version__)"], env=env)
        self.assertEqual(where.returncode, 0, where.stderr)
        self.assertTrue(where.stdout.startswith(str(root / "userbase")), where.stdout)
        self.assertIn(where.stdout.split()[1], version.stdout)
        capture = root / "user.bin"
        tracked = run([lib.test_python(), "-c", "import memray\nwith memray.Tracker(%r):\n    bytearray(100000)\n"
                       "print(memray.FileReader(%r).metadata.peak_memory)" % (str(capture), str(capture))], env=env)
        self.assertEqual(tracked.returncode, 0, tracked.stderr)
        self.assertGreaterEqual(int(tracked.stdout), 100000)


if __name__ == "__main__":
    unittest.main()
