"""pytest cases of memray's pytest plugin and IPython magic, run by test_pytest_plugin.py with
pytest (and ``-p pytester``) from a venv where the wheel is installed.

Each case writes a small test suite and runs pytest on it in a subprocess (pytester), as a user
would, then reads what pytest printed and what the plugin left behind. Sizes are MiBs against
limits with wide margins: the interpreter's own allocations during a test are kilobytes."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import memray

pytest_plugins = ["pytester"]

# Each generated suite starts with this; allocate() is the line its tests allocate from.
PRELUDE = textwrap.dedent("""\
    import threading
    import pytest

    MiB = 1024 * 1024
    leaked = []


    def allocate(size):
        return bytearray(size)  # ALLOCATE


    def deep(depth):
        if depth == 0:
            return allocate(2 * MiB)  # DEEPEST
        return deep(depth - 1)  # RECURSE


""")
# Where PRELUDE's functions allocate (its lines are the generated file's first ones).
ALLOCATE_LINE, DEEPEST_LINE, RECURSE_LINE = (
    next(n for n, text in enumerate(PRELUDE.splitlines(), 1) if text.endswith(marker))
    for marker in ("# ALLOCATE", "# DEEPEST", "# RECURSE"))
USAGE_ERROR = 4
# A subprocess run of pytest on a loaded machine (xdist starts interpreters): generous.
RUN_TIMEOUT = 600


def suite(pytester, body, name="test_suite"):
    """Writes PRELUDE + body as NAME.py; its path."""
    return pytester.makepyfile(**{name: PRELUDE + textwrap.dedent(body)})


def run(pytester, *args):
    return pytester.runpytest_subprocess(*args, timeout=RUN_TIMEOUT)


def output(result):
    return result.stdout.str() + "\n" + result.stderr.str()


def outcome_text(pytester, *args, passed=0, failed=0):
    """Runs pytest with ARGS, checks how many tests passed and failed; all that it printed."""
    result = run(pytester, *args)
    result.assert_outcomes(passed=passed, failed=failed)
    return output(result)


def allocate_frame(path):
    return "allocate:%s:%d" % (path, ALLOCATE_LINE)


def assert_in_order(text, *parts):
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, "%r not found (in order) in:\n%s" % (part, text)
        position = found + len(part)


# ---- registration ----

def test_the_wheel_registers_the_plugin(pytester):
    suite(pytester, "def test_nothing():\n    pass\n")
    result = run(pytester)
    assert result.ret == 0
    assert re.search(r"^plugins: .*memray-", result.stdout.str(), re.MULTILINE), result.stdout.str()
    helped = run(pytester, "--help").stdout.str()
    for flag in ("--memray", "--memray-bin-path", "--memray-bin-prefix", "--hide-memray-summary",
                 "--most-allocations", "--stacks", "--native", "--trace-python-allocators", "--fail-on-increase"):
        assert flag in helped
    for ini in ("memray (bool)", "memray_bin_path", "memray_bin_prefix", "hide_memray_summary (bool)",
                "most_allocations", "stacks", "native (bool)", "trace_python_allocators (bool)",
                "fail_on_increase (bool)", "verbosity_memray"):
        assert ini in helped
    markers = run(pytester, "--markers").stdout.str()
    assert "@pytest.mark.limit_memory(limit, *, current_thread_only=False)" in markers
    assert "@pytest.mark.limit_leaks(location_limit, *, filter_fn=None, current_thread_only=False)" in markers


# ---- limit_memory ----

def test_limit_memory_passes_under_the_limit_and_fails_over_it(pytester):
    path = suite(pytester, """\
        @pytest.mark.limit_memory("1 MB")
        def test_under():
            block = allocate(MiB // 2)

        @pytest.mark.limit_memory("1 MB")
        def test_over():
            block = allocate(2 * MiB)

        @pytest.mark.limit_memory("3 MB")
        def test_the_peak_counts_not_the_total():
            for _ in range(10):
                block = allocate(MiB)  # 10 MiB in all, at most 2 MiB at once
    """)
    text = outcome_text(pytester, "-v", passed=2, failed=1)
    assert "test_suite.py::test_over MEMORY PROBLEMS" in text
    assert "test_suite.py::test_under PASSED" in text
    assert_in_order(text, "Test was limited to 1.0MiB but allocated 2.0MiB", "memray-max-memory",
                    "List of allocations:\n    - 2.0MiB allocated here:\n        %s\n        ...\n"
                    % allocate_frame(path))
    assert "MEMORY PROBLEMS test_suite.py::test_over" in text
    assert "MEMRAY REPORT" not in text  # markers alone: no summary
    short = run(pytester)
    assert "test_suite.py .M." in short.stdout.str()


LIMITS_PASSING_1MIB = ["1.5 MB", "1536 KB", "1.5mb", "+2MB", "0.01 GB", " 2 Mb ", ".002 GB", "1600000 B", "1 tb"]
LIMITS_FAILING_1MIB = ["1 MB", "1048576 B", "1024 kb", "0.5MB"]
LIMITS_INVALID = ["1 MiB", "-1 MB", "100", "MB", "1 XB", "1,5 MB"]


def test_limit_units_are_pytest_memrays(pytester):
    suite(pytester, """\
        def marked(limits):
            return [pytest.param(limit, marks=pytest.mark.limit_memory(limit)) for limit in limits]

        @pytest.mark.parametrize("limit", marked(%r))
        def test_passing(limit):
            block = allocate(MiB)

        @pytest.mark.parametrize("limit", marked(%r))
        def test_failing(limit):
            block = allocate(MiB)

        @pytest.mark.parametrize("limit", marked(%r))
        def test_invalid(limit):
            block = allocate(MiB)
    """ % (LIMITS_PASSING_1MIB, LIMITS_FAILING_1MIB, LIMITS_INVALID))
    text = outcome_text(pytester, "-v", passed=len(LIMITS_PASSING_1MIB),
                        failed=len(LIMITS_FAILING_1MIB) + len(LIMITS_INVALID))
    for limit in LIMITS_INVALID:
        assert "ValueError: Invalid memory size format: %s\n" % limit in text
    for shown in ("1.0MiB", "1.0MiB", "1.0MiB", "512.0KiB"):
        assert "Test was limited to %s but allocated 1.0MiB" % shown in text


def test_limit_memory_current_thread_only(pytester):
    suite(pytester, """\
        def with_a_thread(size):
            held = []
            worker = threading.Thread(target=lambda: held.append(allocate(size)))
            worker.start()
            worker.join()
            mine = allocate(MiB)
            return held, mine

        @pytest.mark.limit_memory("3 MB")
        def test_every_thread_counts():
            kept = with_a_thread(4 * MiB)

        @pytest.mark.limit_memory("3 MB", current_thread_only=True)
        def test_only_this_thread_counts():
            kept = with_a_thread(4 * MiB)

        @pytest.mark.limit_memory("512 KB", current_thread_only=True)
        def test_this_thread_over():
            kept = with_a_thread(4 * MiB)
    """)
    text = outcome_text(pytester, "-v", passed=1, failed=2)
    assert "test_only_this_thread_counts PASSED" in text
    assert "Test was limited to 3.0MiB but allocated 5.0MiB" in text
    assert "Test was limited to 512.0KiB but allocated 1.0MiB" in text


def test_only_the_test_body_is_tracked(pytester):
    suite(pytester, """\
        import memray._tracker

        @pytest.fixture
        def big():
            assert memray._tracker._active is None
            block = allocate(8 * MiB)
            yield block
            assert memray._tracker._active is None

        @pytest.mark.limit_memory("1 MB")
        def test_fixture_memory_does_not_count(big):
            assert memray._tracker._active is not None
            assert len(big) == 8 * MiB

        def test_unmarked_is_not_tracked():
            assert memray._tracker._active is None
    """)
    run(pytester).assert_outcomes(passed=2)


def test_a_failing_test_is_not_checked(pytester):
    suite(pytester, """\
        @pytest.mark.limit_memory("1 B")
        def test_fails_by_itself():
            block = allocate(MiB)
            assert False, "the test's own failure"
    """)
    text = outcome_text(pytester, failed=1)
    assert "the test's own failure" in text
    assert "Test was limited to" not in text


def test_marker_mistakes_fail_the_test_before_it_runs(pytester):
    suite(pytester, """\
        @pytest.mark.limit_memory("1 MB")
        @pytest.mark.limit_leaks("1 MB")
        def test_two_markers():
            pass

        @pytest.mark.limit_memory()
        def test_no_size():
            pass

        @pytest.mark.limit_memory("1 MB", filter_fn=None)
        def test_unknown_argument():
            pass

        @pytest.mark.limit_leaks(location_limit="1 MB", current_thread_only=True)
        def test_keywords_are_fine():
            pass
    """)
    text = outcome_text(pytester, passed=1, failed=3)
    assert "ValueError: Only one Memray marker can be applied to each test" in text
    assert "TypeError: limit_memory() needs a size" in text
    assert "TypeError: limit_memory() got an unexpected keyword argument 'filter_fn'" in text


def test_stacks_and_verbosity_in_failures(pytester):
    functions = "".join("def site_%d():\n    return allocate(%d * 100000)\n\n" % (i, i + 1) for i in range(12))
    path = suite(pytester, functions + textwrap.dedent("""\
        @pytest.mark.limit_memory("1 MB")
        def test_deep():
            block = deep(10)

        @pytest.mark.limit_memory("1 MB")
        def test_twelve_sites():
            blocks = [globals()["site_%d" % i]() for i in range(12)]
    """))
    result = run(pytester, "--stacks", "3", "-k", "deep")
    text = output(result)
    assert_in_order(text, "    - 2.0MiB allocated here:\n        %s\n" % allocate_frame(path),
                    "        deep:%s:%d\n        deep:%s:%d\n        ...\n" % (path, DEEPEST_LINE, path, RECURSE_LINE))

    # Default verbosity: the 10 largest sites, then how many more; -vv: all; -q: no list.
    default = output(run(pytester, "-k", "twelve"))
    assert default.count("allocated here:") == 10
    assert re.search(r"^    \.\.\.and \d+ more$", default, re.MULTILINE), default
    assert "- 1.1MiB allocated here:" in default  # site_11, the largest, first
    assert output(run(pytester, "-vv", "-k", "twelve")).count("allocated here:") >= 12
    quiet = output(run(pytester, "-q", "-k", "twelve"))
    assert "Test was limited to 1.0MiB" in quiet
    assert "allocated here:" not in quiet
    pytester.makeini("[pytest]\nverbosity_memray = 2\n")
    assert output(run(pytester, "-k", "twelve")).count("allocated here:") >= 12


def test_async_tests_are_tracked(pytester):
    # anyio's pytest plugin (Debian: python3-anyio) runs `async def` tests: the plugin must hand it
    # a coroutine function that tracks the awaited body.
    path = suite(pytester, """\
        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        @pytest.mark.limit_memory("1 MB")
        async def test_over():
            block = allocate(2 * MiB)

        @pytest.mark.anyio
        @pytest.mark.limit_memory("1 MB")
        async def test_under():
            block = allocate(MiB // 2)

        @pytest.mark.anyio
        @pytest.mark.limit_leaks("5 KB")
        async def test_leaks():
            for _ in range(10):
                leaked.append(allocate(1024))
    """)
    text = outcome_text(pytester, "--stacks", "10", passed=1, failed=2)
    assert "Test was limited to 1.0MiB but allocated 2.0MiB" in text
    assert "Test was allowed to leak 5.0KiB per location but at least one location leaked more" in text
    assert "        %s\n        test_leaks:%s:" % (allocate_frame(path), path) in text


# ---- limit_leaks ----

def test_limit_leaks(pytester):
    path = suite(pytester, """\
        def leak_10_kib():
            for _ in range(10):
                leaked.append(allocate(1024))

        def excused():
            leak_10_kib()

        @pytest.mark.limit_leaks("5 KB")
        def test_leaks_10_kib_from_one_place():
            leak_10_kib()

        @pytest.mark.limit_leaks("20 KB")
        def test_leaks_under_the_limit():
            leak_10_kib()

        @pytest.mark.limit_leaks("100 KB")
        def test_frees_what_it_allocates():
            for _ in range(10):
                block = allocate(MiB)

        seen = []

        def not_excused(stack):
            seen.append(stack)
            return not any(frame.function == "excused" for frame in stack.frames)

        @pytest.mark.limit_leaks("5 KB", filter_fn=not_excused)
        def test_filter_fn_excuses_a_location():
            excused()

        def test_filter_fn_saw_stacks():
            assert seen and all(isinstance(frame.lineno, int) for stack in seen for frame in stack.frames)
            assert any(frame.function == "excused" for stack in seen for frame in stack.frames)
    """)
    text = outcome_text(pytester, "-v", "--stacks", "10", passed=4, failed=1)
    assert "test_leaks_10_kib_from_one_place MEMORY PROBLEMS" in text
    assert_in_order(text, "Test was allowed to leak 5.0KiB per location but at least one location leaked more",
                    "memray-leaked-memory", "List of leaked allocations:\n    - 10.0KiB allocated here:\n",
                    "        %s\n        leak_10_kib:%s:" % (allocate_frame(path), path),
                    "        test_leaks_10_kib_from_one_place:%s:" % path)


# ---- the session's summary ----

SUMMARY_SUITE = textwrap.dedent("""\
    def test_one():
        block = allocate(1 * MiB)

    def test_three():
        block = allocate(3 * MiB)

    def test_two():
        block = allocate(2 * MiB)

    def test_fails():
        block = allocate(5 * MiB)
        assert False
""")


def test_memray_summary(pytester):
    path = suite(pytester, SUMMARY_SUITE)
    text = outcome_text(pytester, "--memray", passed=3, failed=1)
    assert_in_order(text, "MEMRAY REPORT",
                    "Allocation results for test_suite.py::test_three at the high watermark\n\n"
                    "\t 📦 Total memory allocated: 3.0MiB\n\t 📏 Total allocations: ",
                    "\t 📊 Histogram of allocation sizes: |", "\t 🥇 Biggest allocating functions:\n"
                    "\t\t- %s -> 3.0MiB\n" % allocate_frame(path),
                    "Allocation results for test_suite.py::test_two at the high watermark",
                    "Allocation results for test_suite.py::test_one at the high watermark")
    assert "test_fails at the high watermark" not in text  # a failed body is not recorded
    assert "binary dumps" not in text

    two = output(run(pytester, "--memray", "--most-allocations", "2"))
    assert "test_two at the high watermark" in two and "test_one at the high watermark" not in two
    assert output(run(pytester, "--memray", "--most-allocations", "0")).count("at the high watermark") == 3
    assert "MEMRAY REPORT" not in output(run(pytester, "--memray", "--hide-memray-summary"))
    assert "MEMRAY REPORT" not in output(run(pytester))


def test_bin_path_and_prefix(pytester):
    suite(pytester, SUMMARY_SUITE + textwrap.dedent("""\
        @pytest.mark.parametrize("long", ["x" * 300])
        def test_long_name(long):
            pass
    """))
    bins = pytester.path / "deep" / "bins"
    result = run(pytester, "--memray", "--memray-bin-path", "deep/bins", "--memray-bin-prefix", "P")
    assert "Created 4 binary dumps at %s with prefix P" % bins in output(result)
    names = sorted(os.listdir(str(bins)))
    assert "P-test_suite.py-test_three.bin" in names
    assert "P-test_suite.py-test_fails.bin" in names  # written, though not recorded
    long_name = next(name for name in names if "test_long_name" in name)
    assert len(long_name.encode()) <= 250 and re.search(r"-[0-9a-f]{16}\.bin$", long_name), long_name

    reader = memray.FileReader(bins / "P-test_suite.py-test_three.bin")
    assert reader.metadata.file_format == memray.FileFormat.AGGREGATED_ALLOCATIONS
    assert reader.metadata.peak_memory >= 3 * 1024 * 1024
    assert not reader.metadata.has_native_traces and not reader.metadata.trace_python_allocators
    flamegraph = subprocess.run([sys.executable, "-m", "memray", "flamegraph", "-o", str(pytester.path / "f.html"),
                                 str(bins / "P-test_suite.py-test_three.bin")], capture_output=True, text=True)
    assert flamegraph.returncode == 0, flamegraph.stderr

    again = run(pytester, "--memray", "--memray-bin-path", "deep/bins", "-k", "three")
    prefix = re.search(r"Created 1 binary dumps at \S+ with prefix ([0-9a-f]{32})$", again.stdout.str(), re.MULTILINE)
    assert prefix, again.stdout.str()
    assert (bins / ("%s-test_suite.py-test_three.bin" % prefix.group(1))).is_file()

    (pytester.path / "a_file").write_text("")
    refused = run(pytester, "--memray", "--memray-bin-path", "a_file")
    assert refused.ret == USAGE_ERROR
    assert "a_file must be a directory" in output(refused)


def assert_native_and_pymalloc_traced(capture):
    metadata = memray.FileReader(capture).metadata
    assert metadata.has_native_traces and metadata.trace_python_allocators


def test_native_and_python_allocator_options(pytester):
    path = suite(pytester, """\
        @pytest.mark.limit_memory("1 MB")
        def test_over():
            block = allocate(2 * MiB)
    """)
    result = run(pytester, "--native", "--trace-python-allocators", "--stacks", "20",
                 "--memray-bin-path", "bins", "--memray-bin-prefix", "N")
    text = output(result)
    frames = re.findall(r"^        (.+)$", text, re.MULTILINE)
    assert allocate_frame(path) in frames
    assert any(not re.search(r"\.py:\d+$", frame) for frame in frames), frames  # native frames too
    assert_native_and_pymalloc_traced(pytester.path / "bins" / "N-test_suite.py-test_over.bin")


GROWING_SUITE = """\
    import pathlib

    @pytest.mark.limit_memory("100 MB")
    def test_grows():
        block = allocate(int(pathlib.Path("size").read_text()))
"""


def run_with_size(pytester, mib, *args):
    """Runs GROWING_SUITE with its test allocating MIB MiB."""
    (pytester.path / "size").write_text(str(mib * 1024 * 1024))
    return run(pytester, *args)


def test_fail_on_increase(pytester):
    suite(pytester, GROWING_SUITE)
    run_with_size(pytester, 1, "--fail-on-increase").assert_outcomes(passed=1)
    grown = run_with_size(pytester, 2, "--fail-on-increase")
    grown.assert_outcomes(failed=1)
    assert_in_order(output(grown), "Test previously used 1.0MiB but now uses 2.0MiB",
                    "memray-max-memory", "Test uses more memory than previous run")
    run_with_size(pytester, 2).assert_outcomes(passed=1)  # without the flag; the cache now says 2 MiB
    run_with_size(pytester, 1, "--fail-on-increase").assert_outcomes(passed=1)


@pytest.mark.parametrize("key", ["fail_on_increase", "fail-on-increase"])  # ours, pytest-memray's
def test_fail_on_increase_in_the_ini_file(pytester, key):
    suite(pytester, GROWING_SUITE)
    pytester.makeini("[pytest]\n%s = true\n" % key)
    run_with_size(pytester, 1).assert_outcomes(passed=1)
    assert "Test previously used 1.0MiB but now uses 3.0MiB" in output(run_with_size(pytester, 3))


# ---- settings in the ini file ----

def test_ini_file_settings(pytester):
    path = suite(pytester, SUMMARY_SUITE + textwrap.dedent("""\
        @pytest.mark.limit_memory("1 MB")
        def test_limited():
            block = deep(5)
    """))
    (pytester.path / "pytest.ini").write_text(textwrap.dedent("""\
        [pytest]
        memray = true
        most_allocations = 1
        stacks = 2
        memray_bin_path = bins
        memray_bin_prefix = ini
    """))
    text = output(run(pytester))
    assert text.count("at the high watermark") == 1
    assert "test_three at the high watermark" in text
    assert "        %s\n        deep:%s:%d\n        ...\n" % (allocate_frame(path), path, DEEPEST_LINE) in text
    assert "Created 4 binary dumps at %s with prefix ini" % (pytester.path / "bins") in text
    # The command line wins over the ini file.
    assert output(run(pytester, "--most-allocations", "2")).count("at the high watermark") == 2
    assert "MEMRAY REPORT" not in output(run(pytester, "--hide-memray-summary"))
    assert "MEMRAY REPORT" not in output(run(pytester, "-o", "memray=false"))


def test_pyproject_toml_settings(pytester):
    suite(pytester, """\
        import memray._tracker

        def test_tracked():
            assert memray._tracker._active is not None
            block = allocate(MiB)
    """)
    pytester.makepyprojecttoml(textwrap.dedent("""\
        [tool.pytest.ini_options]
        memray = true
        hide_memray_summary = true
        native = true
        trace_python_allocators = true
        memray_bin_path = "bins"
        memray_bin_prefix = "toml"
    """))
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "MEMRAY REPORT" not in output(result)
    assert_native_and_pymalloc_traced(pytester.path / "bins" / "toml-test_suite.py-test_tracked.bin")


def test_invalid_numbers(pytester):
    suite(pytester, "def test_nothing():\n    pass\n")
    result = run(pytester, "--stacks", "0")
    assert result.ret == USAGE_ERROR
    assert "0 is an invalid positive int value" in output(result)
    result = run(pytester, "--most-allocations", "-1")
    assert result.ret == USAGE_ERROR
    assert "-1 is an invalid non-negative int value" in output(result)
    pytester.makeini("[pytest]\nstacks = many\n")
    result = run(pytester)
    assert result.ret == USAGE_ERROR
    assert "ini option stacks: many is an invalid positive int value" in output(result)


# ---- pytest-xdist ----

def test_xdist(pytester):
    suite(pytester, SUMMARY_SUITE + textwrap.dedent("""\
        @pytest.mark.limit_memory("1 MB")
        def test_over():
            block = allocate(2 * MiB)

        def test_four():
            block = allocate(4 * MiB)
    """))
    text = outcome_text(pytester, "-n", "2", "--memray", "--most-allocations", "0", passed=4, failed=2)
    assert "Test was limited to 1.0MiB but allocated 2.0MiB" in text
    assert_in_order(text, "MEMRAY REPORT", "test_suite.py::test_four at the high watermark",
                    "test_suite.py::test_three at the high watermark", "test_suite.py::test_two at the high watermark",
                    "test_suite.py::test_one at the high watermark")
    assert "\t 📦 Total memory allocated: 4.0MiB" in text

    markers_only = run(pytester, "-n", "2")
    markers_only.assert_outcomes(passed=4, failed=2)
    assert "Test was limited to 1.0MiB but allocated 2.0MiB" in output(markers_only)
    assert "MEMRAY REPORT" not in output(markers_only)

    with_bins = run(pytester, "-n", "2", "--memray", "--memray-bin-path", "bins")
    prefix = re.search(r"Created 5 binary dumps at \S+ with prefix ([0-9a-f]{32})$",
                       with_bins.stdout.str(), re.MULTILINE)
    assert prefix, with_bins.stdout.str()
    names = os.listdir(str(pytester.path / "bins"))
    assert len(names) == 6 and all(name.startswith(prefix.group(1) + "-") for name in names), names


# ---- the IPython magic ----

MAGIC_SCRIPT = textwrap.dedent("""\
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "memray")
    cells = json.loads(sys.argv[1])
    said = []
    for cell in cells:
        with capture_output() as captured:
            result = shell.run_cell(cell)
        said.append({"stdout": captured.stdout, "stderr": captured.stderr,
                     "html": [out.data.get("text/html", "") for out in captured.outputs],
                     "error": repr(result.error_in_exec or result.error_before_exec)})
    said.append({"kept": len(shell.user_ns.get("kept", b""))})
    print(json.dumps(said))
""")

MAGIC_BODY = "def make_block():\n    return bytearray(6_000_000)\nkept = make_block()\n"


def ipython_env(tmp_path):
    return dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))


def test_magic_in_an_interactive_shell(tmp_path):
    flags = ["", "--leaks", "--native", "--trace-python-allocators", "--split-threads --inverted",
             "--temporal", "--temporal --leaks --max-memory-records 5", "--temporary-allocations",
             "--temporary-allocation-threshold 3"]
    cells = ["%%%%memray_flamegraph %s\n%s" % (flag, MAGIC_BODY) for flag in flags]
    cells += ["%%memray_flamegraph\nkept = make_block()\nraise RuntimeError('the cell fails')\n",
              "%%memray_flamegraph --temporal --temporary-allocations\nx = 1\n",
              "%%memray_flamegraph --bogus\nx = 1\n",
              "%%memray_flamegraph -h\nx = 1\n"]
    script = tmp_path / "drive.py"
    script.write_text(MAGIC_SCRIPT)
    process = subprocess.run([sys.executable, str(script), json.dumps(cells)], cwd=str(tmp_path),
                             env=ipython_env(tmp_path), capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert process.returncode == 0, process.stderr
    said = json.loads(process.stdout.splitlines()[-1])
    assert said[-1] == {"kept": 6_000_000}  # the cell ran in the user's namespace
    for flag, cell in zip(flags + ["(a failing cell)"], said):
        saved = re.search(r"^Results saved to (memray-results/[^/\n]+/flamegraph\.html)$", cell["stdout"], re.MULTILINE)
        assert saved, (flag, cell)
        report = tmp_path / saved.group(1)
        assert report.is_file(), (flag, report)
        assert "make_block" in report.read_text(), flag
        assert not (report.parent / "memray.dump").exists(), flag
        assert len(cell["html"]) == 1 and 'src="%s"' % saved.group(1) in cell["html"][0], (flag, cell)
    assert "the cell fails" in said[len(flags)]["stdout"] + said[len(flags)]["stderr"]
    temporal_temporary, bogus, helped = said[len(flags) + 1:len(flags) + 4]
    assert "Can't create a temporal flame graph of temporary allocations" in (
        temporal_temporary["stdout"] + temporal_temporary["stderr"])
    assert "unrecognized arguments: --bogus" in bogus["stderr"] and bogus["error"] == "None"
    assert "usage: %%memray_flamegraph" in helped["stdout"] and helped["error"] == "None"


def test_magic_from_the_ipython_command(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "--ext=memray",
         "--TerminalInteractiveShell.term_title=False", "-c", "%%memray_flamegraph --leaks\n" + MAGIC_BODY],
        cwd=str(tmp_path), env=ipython_env(tmp_path), capture_output=True, text=True, timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL)
    assert process.returncode == 0, process.stdout + process.stderr
    saved = re.search(r"Results saved to (memray-results/[^/\n]+/flamegraph\.html)", process.stdout)
    assert saved, process.stdout + process.stderr
    assert "make_block" in (tmp_path / saved.group(1)).read_text()
    assert "IFrame" in process.stdout  # a terminal shows the inline display's text form
