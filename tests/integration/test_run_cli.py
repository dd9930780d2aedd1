"""Tests of `memray run` and the top-level command line.

Most of them test the CLI's plumbing -- option splitting, the bootstrap's emulation of the
interpreter's own command line, exit statuses, deaths by signal, messages -- by running the same
program under plain python and under `memray run`, with the TEST FIXTURE stand-in payload
(memray_testlib.stand_in_payload()) so that they do not depend on the real payload. The tests
in RealPayloadTests use the real payload. Signals sent to `memray run` while the program runs
are tested in test_run_signals.py.
"""

import json
import os
import signal
import sys
import unittest
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

STAND_IN = lib.stand_in_payload()
PYTHON = lib.test_python()
VERSION = lib.python_version()

# Prints, as JSON, everything of the interpreter's start-up state that `memray run` must
# reproduce. It runs as a script, a module, a directory's __main__ and -c code.
PROBE = r"""
import json, os, sys
import __main__
def _loader(loader):
    if isinstance(loader, type):
        return repr(loader)
    return [type(loader).__module__, type(loader).__qualname__,
            getattr(loader, "name", None), getattr(loader, "path", None)]
print(json.dumps({
    "argv": sys.argv,
    "orig_argv": getattr(sys, "orig_argv", None),
    "executable": sys.executable,
    "path": sys.path,
    "main_keys": list(vars(__main__)),
    "main_is_globals": vars(__main__) is globals(),
    "name": __name__,
    "file": globals().get("__file__", "<none>"),
    "cached": globals().get("__cached__", "<none>"),
    "package": __package__,
    "doc": __doc__,
    "spec": None if __spec__ is None else [__spec__.name, __spec__.origin],
    "loader": _loader(__loader__),
    "builtins": type(__builtins__).__name__,
    "importer_cached": sorted(k for k in sys.path_importer_cache if "memray-test-" in k),
    "cwd": os.getcwd(),
}, sort_keys=True))
"""


def stand_in_run(args, **kwargs):
    """`memray run --python PY ARGS` with the stand-in payload."""
    kwargs.setdefault("payload", STAND_IN)
    return lib.run_memray(["run", "--python", PYTHON] + list(args), **kwargs)


def stand_in_config(path):
    """The configuration the stand-in payload was started with, as a dict."""
    lines = Path(path).read_text().splitlines()
    assert lines[0].startswith("MEMRAY CLI TEST STAND-IN"), lines[0]
    return dict(line.split("=", 1) for line in lines[1:] if line)


class PlumbingTestCase(lib.TempDirTestCase):
    maxDiff = None

    def assertSameAsPython(self, python_args, memray_args, cwd, env=None, input=None,
                           compare_stdout=True, compare_stderr=True):
        """Runs PYTHON PYTHON_ARGS and memray run -q MEMRAY_ARGS in `cwd`; their exit status,
        stdout and stderr must be the same."""
        expected = lib.run_python(python_args, cwd=cwd, env=env, input=input)
        actual = stand_in_run(["-q", "-o", self.tmp / "out.bin", "-f"] + list(memray_args),
                              cwd=cwd, input=input,
                              env=None if env is None else dict(env, MEMRAY_PAYLOAD=str(STAND_IN)))
        self.assertEqual(actual.returncode, expected.returncode,
                         "memray stderr:\n%s\npython stderr:\n%s" % (actual.stderr, expected.stderr))
        if compare_stdout:
            self.assertEqual(actual.stdout, expected.stdout)
        if compare_stderr:
            self.assertEqual(actual.stderr, expected.stderr)
        return actual, expected


class ProgramStartTests(PlumbingTestCase):
    """sys.argv, sys.path, __main__ and friends are what the interpreter itself sets."""

    def setUp(self):
        super().setUp()
        lib.write_file(self.tmp / "sub" / "probe.py", PROBE)
        lib.write_file(self.tmp / "probe_mod.py", PROBE)
        lib.write_file(self.tmp / "pkg" / "__init__.py", "")
        lib.write_file(self.tmp / "pkg" / "__main__.py", PROBE)
        lib.write_file(self.tmp / "appdir" / "__main__.py", PROBE)
        with zipfile.ZipFile(str(self.tmp / "app.zip"), "w") as archive:
            archive.writestr("__main__.py", PROBE)
        (self.tmp / "link").mkdir()
        os.symlink(str(self.tmp / "sub" / "probe.py"), str(self.tmp / "link" / "probe.py"))

    def check(self, args, cwd=None, env=None):
        actual, expected = self.assertSameAsPython(args, args, cwd or self.tmp, env=env)
        self.assertEqual(actual.returncode, 0, actual.stderr)
        json.loads(actual.stdout)  # the probe really ran

    def test_relative_script_with_arguments(self):
        self.check(["sub/probe.py", "a", "-o", "x", "--help", "-m", "y"])

    def test_script_in_current_directory(self):
        self.check(["probe.py", "1"], cwd=self.tmp / "sub")

    def test_absolute_script(self):
        self.check([self.tmp / "sub" / "probe.py"])

    def test_unnormalised_script_path(self):
        self.check(["./sub/../sub/probe.py"])

    def test_symlinked_script_puts_real_directory_first(self):
        self.check(["link/probe.py", "z"])

    def test_module(self):
        self.check(["-m", "probe_mod", "a", "-c", "b"])

    def test_package_module(self):
        self.check(["-m", "pkg", "x"])

    def test_code(self):
        self.check(["-c", PROBE, "a", "b"])

    def test_directory_with_main(self):
        self.check(["appdir", "q"])

    def test_zip_with_main(self):
        self.check(["app.zip"])

    @unittest.skipIf(VERSION < (3, 11), "PYTHONSAFEPATH exists from Python 3.11")
    def test_safe_path(self):
        env = lib.memray_env(extra={"PYTHONSAFEPATH": "1"})
        self.check(["sub/probe.py"], env=env)
        self.check(["-c", PROBE], env=env)
        # The current directory is not on sys.path: plain python does not find it either.
        self.assertSameAsPython(["-m", "probe_mod"], ["-m", "probe_mod"], self.tmp, env=env)

    def test_main_namespace_at_exit(self):
        lib.write_file(self.tmp / "atexit_probe.py", """
            import atexit, sys
            def show():
                import __main__
                print([k for k in vars(__main__) if k.startswith("__")])
            atexit.register(show)
            if sys.argv[1] == "raise":
                raise ValueError("x")
            if sys.argv[1] == "exit":
                sys.exit(0)
        """)
        for how in ("return", "raise", "exit"):
            with self.subTest(how=how):
                self.assertSameAsPython(["atexit_probe.py", how], ["atexit_probe.py", how],
                                        self.tmp)

    def test_coding_cookie(self):
        path = self.tmp / "latin.py"
        path.write_bytes(b"# -*- coding: latin-1 -*-\nprint(ascii('caf\xe9'))\n")
        actual, _ = self.assertSameAsPython(["latin.py"], ["latin.py"], self.tmp)
        self.assertEqual(actual.stdout, "'caf\\xe9'\n")

    def test_stdlib_module_names_in_current_directory_do_not_break_the_bootstrap(self):
        lib.write_file(self.tmp / "ctypes.py", "raise SystemExit('the bootstrap imported me')")
        lib.write_file(self.tmp / "runpy.py", "raise SystemExit('the bootstrap imported me')")
        process = stand_in_run(["-q", "-o", "out.bin", "-m", "probe_mod"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)

    def test_only_the_bootstrap_function_is_above_the_program(self):
        # memray_start is called from the bootstrap function that then runs the program with
        # exec, which adds no frame: the payload hides that caller and everything above it.
        lib.write_file(self.tmp / "frames.py", """
            import sys
            frame = sys._getframe().f_back
            callers = []
            while frame is not None:
                callers.append(frame.f_code.co_name)
                frame = frame.f_back
            print(callers)
        """)
        process = stand_in_run(["-q", "-o", "out.bin", "frames.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(process.stdout.strip(), "['_memray_run', '<module>']")

    def test_stdin_is_the_programs(self):
        lib.write_file(self.tmp / "echo.py", """
            line = input()
            print("got", line, input())
        """)
        self.assertSameAsPython(["echo.py"], ["echo.py"], self.tmp, input="hello\nworld\n")

    def test_default_interpreter_is_python3_from_path(self):
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        os.symlink(PYTHON, str(bin_dir / "python3"))
        env = lib.memray_env(STAND_IN, {"PATH": "%s:%s" % (bin_dir, os.environ.get("PATH", ""))})
        process = lib.run_memray(
            ["run", "-q", "-o", "out.bin", "-c", "import sys; print(sys.version_info[:2])"],
            cwd=self.tmp, env=env)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(process.stdout.strip(), str(VERSION))


class ExitStatusTests(PlumbingTestCase):
    """Exit codes, tracebacks and deaths by signal are the program's."""

    def check_script(self, source, args=(), **kwargs):
        lib.write_file(self.tmp / "prog.py", source)
        return self.assertSameAsPython(["prog.py"] + list(args), ["prog.py"] + list(args),
                                       self.tmp, **kwargs)

    def test_exit_codes(self):
        for code in ("0", "3", "255", "300", "'a message'", "None"):
            with self.subTest(code=code):
                self.check_script("import sys; sys.exit(%s)" % code)

    def test_os_exit(self):
        self.check_script("import os; os._exit(4)")

    def test_uncaught_exception_traceback_has_no_bootstrap_frames(self):
        actual, _ = self.check_script("""
            def inner():
                raise ValueError("boom")
            def outer():
                inner()
            outer()
        """)
        self.assertEqual(actual.returncode, 1)
        self.assertIn("ValueError: boom", actual.stderr)
        self.assertNotIn("_memray_run", actual.stderr)

    def test_chained_exception(self):
        self.check_script("""
            try:
                {}["missing"]
            except KeyError as error:
                raise RuntimeError("while handling") from error
        """)

    def test_custom_excepthook(self):
        self.check_script("""
            import sys, traceback
            def hook(kind, value, tb):
                print("hook:", kind.__name__, [f.name for f in traceback.extract_tb(tb)])
            sys.excepthook = hook
            def f():
                raise KeyError(1)
            f()
        """)

    def test_syntax_error(self):
        # Before 3.10, the parser places an error at the end of a file one line further when
        # it reads the file itself than when it compiles the same bytes, as the bootstrap does.
        actual, expected = self.check_script("x = (\n", compare_stderr=VERSION >= (3, 10))
        self.assertEqual(actual.returncode, 1)
        self.assertEqual(actual.stderr.splitlines()[-1], expected.stderr.splitlines()[-1])

    def test_module_exception_and_missing_module(self):
        lib.write_file(self.tmp / "failing.py", "import sys\nraise OSError(sys.argv[1:])\n")
        self.assertSameAsPython(["-m", "failing", "x"], ["-m", "failing", "x"], self.tmp)
        self.assertSameAsPython(["-m", "no_such_module_here"], ["-m", "no_such_module_here"],
                                self.tmp)

    def test_code_exception_and_syntax_error(self):
        code = "def f():\n    return 1 / 0\nf()\n"
        self.assertSameAsPython(["-c", code], ["-c", code], self.tmp)
        self.assertSameAsPython(["-c", "1 +"], ["-c", "1 +"], self.tmp)

    def test_code_traceback_inside_exec_of_string(self):
        # A "<string>" frame of the program's own: no line of the bootstrap may show there.
        code = "exec(compile('def g():\\n    raise ValueError(7)\\ng()', '<string>', 'exec'))"
        lib.write_file(self.tmp / "strexec.py", code)
        self.assertSameAsPython(["strexec.py"], ["strexec.py"], self.tmp)

    def test_uncaught_keyboard_interrupt_dies_of_sigint(self):
        # check_script compares the status with plain Python's: death by SIGINT from 3.8 on,
        # exit status 1 on 3.7.
        actual, _ = self.check_script("raise KeyboardInterrupt")
        self.assertEqual(actual.returncode, -signal.SIGINT if lib.python_version() >= (3, 8) else 1)
        self.assertNotIn("_memray_run", actual.stderr)

    def test_killed_by_signal(self):
        for name in ("SIGKILL", "SIGTERM", "SIGSEGV"):
            with self.subTest(signal=name):
                actual, _ = self.check_script(
                    "import os, signal; os.kill(os.getpid(), signal.%s)" % name)
                self.assertEqual(actual.returncode, -getattr(signal, name))


class OutputTests(PlumbingTestCase):
    """Where the capture goes, and what memray says about it."""

    def test_default_name_for_script_is_next_to_it(self):
        lib.write_file(self.tmp / "sub" / "app.py", "import os; print(os.getpid())")
        process = stand_in_run(["-q", "sub/app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        expected = self.tmp / "sub" / ("memray-app.py.%s.bin" % process.stdout.strip())
        self.assertTrue(expected.exists(), list((self.tmp / "sub").iterdir()))
        self.assertEqual(stand_in_config(expected)["output"], str(expected))

    def test_default_name_for_module_and_code_is_in_current_directory(self):
        lib.write_file(self.tmp / "sub" / "mod.py", "import os; print(os.getpid())")
        cases = [(["-m", "mod"], "memray-mod.%s.bin"),
                 (["-c", "import os; print(os.getpid())"], "memray-string.%s.bin")]
        for args, pattern in cases:
            with self.subTest(args=args):
                process = stand_in_run(["-q"] + args, cwd=self.tmp / "sub")
                self.assertEqual(process.returncode, 0, process.stderr)
                self.assertTrue((self.tmp / "sub" / (pattern % process.stdout.strip())).exists())

    def test_existing_output_is_refused_without_force(self):
        lib.write_file(self.tmp / "app.py", "print('ran')")
        existing = lib.write_file(self.tmp / "out.bin", "precious")
        process = stand_in_run(["-o", "out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 1)
        self.assertEqual(process.stdout, "")  # the program did not run
        self.assertEqual(len(process.stderr.splitlines()), 1, process.stderr)
        self.assertIn("memray run: error: output file out.bin already exists", process.stderr)
        self.assertEqual(existing.read_text(), "precious")

        process = stand_in_run(["-f", "-q", "-o", "out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(stand_in_config(existing)["force"], "1")

    def test_output_directory_must_exist(self):
        lib.write_file(self.tmp / "app.py", "print('ran')")
        process = stand_in_run(["-o", "missing/out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 1)
        self.assertEqual(process.stdout, "")
        self.assertEqual(len(process.stderr.splitlines()), 1, process.stderr)
        self.assertIn("does not exist", process.stderr)

    @unittest.skipIf(os.geteuid() == 0, "root may write anywhere")
    def test_output_directory_must_be_writable(self):
        lib.write_file(self.tmp / "app.py", "print('ran')")
        (self.tmp / "ro").mkdir()
        os.chmod(str(self.tmp / "ro"), 0o555)
        process = stand_in_run(["-o", "ro/out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 1)
        self.assertIn("not writable", process.stderr)

    def test_messages(self):
        lib.write_file(self.tmp / "app.py", "print('program output')")
        process = stand_in_run(["-o", "out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        # The program's stdout stays its own; memray speaks on stderr.
        self.assertEqual(process.stdout, "program output\n")
        lines = process.stderr.splitlines()
        self.assertEqual(lines[0], "[memray] Writing profile results into out.bin")
        self.assertIn("[memray] Successfully generated profile results.", lines)
        self.assertIn("memray flamegraph out.bin", process.stderr)
        self.assertIn("memray stats out.bin", process.stderr)

    def test_quiet(self):
        lib.write_file(self.tmp / "app.py", "print('program output')")
        process = stand_in_run(["-q", "-o", "out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(process.stdout, "program output\n")
        self.assertEqual(process.stderr, "")

    def test_options_reach_the_payload(self):
        lib.write_file(self.tmp / "app.py", "")
        process = stand_in_run(["-q", "--trace-python-allocators", "--follow-fork", "--native",
                                "--rss-interval-ms", "25", "--output=out.bin", "app.py"],
                               cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(stand_in_config(self.tmp / "out.bin"), {
            "output": str(self.tmp / "out.bin"),
            "force": "0",
            "trace_python_allocators": "1",
            "follow_fork": "1",
            "native": "1",
            "rss_interval_ms": "25",
            "skip_caller_frames": "1",
            "stop_at_exit": "1",
        })

    def test_aggregate_reaches_the_payload(self):
        lib.write_file(self.tmp / "app.py", "")
        process = stand_in_run(["-q", "--aggregate", "-o", "out.bin", "app.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(stand_in_config(self.tmp / "out.bin").get("aggregate"), "1")

    def test_bundled_short_options(self):
        cases = [
            ["-qfo", "out.bin", "-c", "print(1)"],
            ["-qfoout.bin", "-c", "print(1)"],
            ["-qf", "-o", "out.bin", "-cprint(1)"],
            ["-qfo", "out.bin", "-mprinter"],
            ["-fo", "out.bin", "-qm", "printer"],
            ["-q", "-q", "-o", "elsewhere.bin", "-fo", "out.bin", "-m", "printer"],
        ]
        lib.write_file(self.tmp / "printer.py", "print(1)")
        for args in cases:
            with self.subTest(args=args):
                process = stand_in_run(args, cwd=self.tmp)
                self.assertEqual((process.returncode, process.stdout, process.stderr),
                                 (0, "1\n", ""))
                self.assertTrue((self.tmp / "out.bin").exists())

    def test_payload_start_failure(self):
        lib.write_file(self.tmp / "app.py", "print('ran')")
        env = lib.memray_env(STAND_IN, {"MEMRAY_CLI_STAND_IN_FAIL": "no room at the inn"})
        process = lib.run_memray(["run", "--python", PYTHON, "-q", "-o", "out.bin", "app.py"],
                                 cwd=self.tmp, env=env)
        self.assertEqual(process.returncode, 1)
        self.assertEqual(process.stdout, "")
        self.assertEqual(process.stderr, "memray: error: no room at the inn\n")


class CommandLineErrorTests(lib.TempDirTestCase):
    def test_script_not_found(self):
        process = stand_in_run(["nope.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 1)
        self.assertEqual(process.stderr, "memray run: error: no such file: nope.py\n")

    def test_unknown_option(self):
        process = stand_in_run(["--no-such-option", "x.py"], cwd=self.tmp)
        self.assertEqual(process.returncode, 2)
        self.assertIn("--no-such-option", process.stderr)
        self.assertEqual(len(process.stderr.splitlines()), 1, process.stderr)

    def test_missing_program(self):
        for args in ([], ["-q"], ["-m"], ["-c"], ["--"]):
            with self.subTest(args=args):
                process = stand_in_run(args, cwd=self.tmp)
                self.assertEqual(process.returncode, 2, process.stderr)
                self.assertTrue(process.stderr.startswith("memray run: error: "))

    def test_bad_rss_interval(self):
        for value in ("0", "-1", "abc", "60001"):
            with self.subTest(value=value):
                process = stand_in_run(["--rss-interval-ms", value, "-c", "pass"], cwd=self.tmp)
                self.assertEqual(process.returncode, 2, process.stderr)

    def test_interpreter_not_found(self):
        process = lib.run_memray(["run", "--python", self.tmp / "no-python", "-c", "pass"],
                                 cwd=self.tmp, payload=STAND_IN)
        self.assertEqual(process.returncode, 1)
        self.assertIn("cannot run", process.stderr)
        self.assertEqual(list(self.tmp.iterdir()), [])

    def test_unsupported_interpreter(self):
        candidates = sorted(Path("/root/.pyenv/versions").glob("3.6*/bin/python3.6")) + sorted(
            Path("/root/.pyenv/versions").glob("2.7*/bin/python2.7"))
        if not candidates:
            self.skipTest("no Python older than 3.7 installed")
        for python in candidates:
            with self.subTest(python=str(python)):
                process = lib.run_memray(["run", "--python", python, "-c", "pass"],
                                         cwd=self.tmp, payload=STAND_IN)
                self.assertEqual(process.returncode, 1)
                # One error line, naming the interpreter, its version and what is supported.
                errors = [line for line in process.stderr.splitlines() if "error" in line]
                self.assertEqual(len(errors), 1, process.stderr)
                self.assertIn("memray supports CPython 3.7 to 3.13", errors[0])
                self.assertIn("%s is Python %s" % (python, python.name[len("python"):]), errors[0])

    def test_missing_payload(self):
        process = lib.run_memray(["run", "-c", "pass"], cwd=self.tmp,
                                 payload=self.tmp / "missing.so")
        self.assertEqual(process.returncode, 1)
        self.assertIn("MEMRAY_PAYLOAD", process.stderr)

    def test_run_help(self):
        process = lib.run_memray(["run", "--help"])
        self.assertEqual(process.returncode, 0, process.stderr)
        for option in ("--output", "--force", "--quiet", "--python", "--follow-fork",
                       "--trace-python-allocators", "--native", "--rss-interval-ms", "-m", "-c"):
            self.assertIn(option, process.stdout)


class TopLevelTests(lib.TempDirTestCase):
    def test_version(self):
        for flag in ("-V", "--version"):
            process = lib.run_memray([flag])
            self.assertEqual((process.returncode, process.stdout), (0, "memray 0.1.0\n"))

    def test_help_lists_commands(self):
        process = lib.run_memray(["--help"])
        self.assertEqual(process.returncode, 0)
        for command in ("run", "parse", "stats"):
            self.assertRegex(process.stdout, r"\n  %s +\S" % command)

    def test_unknown_command(self):
        process = lib.run_memray(["frobnicate"])
        self.assertEqual(process.returncode, 2)
        self.assertEqual(process.stderr,
                         "memray: error: unknown command 'frobnicate' (see 'memray --help')\n")

    def test_did_you_mean(self):
        process = lib.run_memray(["rnu"])
        self.assertEqual(process.returncode, 2)
        self.assertIn("did you mean 'run'?", process.stderr)

    def test_no_command(self):
        process = lib.run_memray([])
        self.assertEqual(process.returncode, 2)

    def test_verbose_logs_to_stderr(self):
        with_v = lib.run_memray(["-vv", "run", "--python", PYTHON, "-q", "-o",
                                 self.tmp / "out.bin", "-c", "print(1)"], payload=STAND_IN)
        self.assertEqual(with_v.stdout, "1\n")
        self.assertIn("memray: debug:", with_v.stderr)


class RealPayloadTests(lib.TempDirTestCase):
    """`memray run` with the real payload: the end-to-end path."""

    SOURCE = """
        import sys
        def allocate():
            return [bytearray(100000) for _ in range(10)]
        kept = allocate()
        sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    """

    def test_capture_is_written(self):
        result = lib.run_script(self.tmp, self.SOURCE)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        self.assertTrue(result.capture.exists())
        self.assertGreater(result.capture.stat().st_size, 0)

    def test_exit_code_passes_through(self):
        result = lib.run_script(self.tmp, self.SOURCE, args=["3"])
        self.assertEqual(result.process.returncode, 3, result.process.stderr)
        self.assertTrue(result.capture.exists())

    def test_stacks_start_at_the_programs_module(self):
        result = lib.run_script(self.tmp, self.SOURCE)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        capture = lib.parse_capture(result.capture)
        stacks = [capture.stack(a["stack"]) for a in capture.allocations
                  if a["size"] >= 100000 and a["stack"]]
        self.assertTrue(stacks, "no allocation of the program's bytearrays was captured")
        for stack in stacks:
            self.assertEqual(stack[-1][:2], ("<module>", str(result.script)), stack)
            self.assertNotIn("_memray_run", [frame[0] for frame in stack])

    def test_follow_fork_writes_one_file_per_child(self):
        result = lib.run_script(self.tmp, """
            import os
            pid = os.fork()
            if pid == 0:
                data = bytearray(100000)
                os._exit(0)
            os.waitpid(pid, 0)
            print(pid)
        """, options=["--follow-fork"])
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        child = result.process.stdout.strip()
        self.assertTrue(result.capture.exists())
        self.assertTrue(Path("%s.%s" % (result.capture, child)).exists(),
                        sorted(p.name for p in self.tmp.iterdir()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
