#!/usr/bin/env python3
"""`memray parse` and `memray stats` end to end: good captures, bad files, bad arguments.

Every failure must be exit status 1 with exactly one line on stderr ("memray <cmd>: error: ..."),
every usage error exit status 2 with one line ending in a hint; never a crash (a signal) and never
a hang.

usage: cli_errors_test.py MEMRAY_BINARY MEMRAY_SYNTH_BINARY
"""
import json
import os
import pty
import struct
import subprocess
import sys
import tempfile

TIMEOUT = 30
results = {"passed": 0, "failed": 0}


def check(condition, what, detail=""):
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""))


def run(*args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE):
    try:
        return subprocess.run(list(args), stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        check(False, f"{args} finished within {TIMEOUT}s")
        return None


def expect_error(memray, command, args, message_part, status=1):
    """Runs `memray command args...` and checks the one-line error."""
    proc = run(memray, command, *args)
    if proc is None:
        return
    what = f"memray {command} {' '.join(args)}"
    stderr = proc.stderr.decode(errors="replace")
    lines = stderr.splitlines()
    check(proc.returncode == status, f"{what}: exit status {status}", f"got {proc.returncode}, stderr: {stderr!r}")
    check(len(lines) == 1, f"{what}: exactly one line on stderr", repr(stderr))
    if status == 2:
        check(f"(see 'memray {command} --help')" in stderr, f"{what}: usage hint", repr(stderr))
    check(bool(lines) and lines[0].startswith(f"memray {command}: error: "), f"{what}: error prefix", repr(stderr))
    check(message_part in stderr, f"{what}: message mentions {message_part!r}", repr(stderr))


def main():
    memray, synth = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="memray-cli-test-") as tmp:
        good = os.path.join(tmp, "good.bin")
        proc = run(synth, "-o", good, "-n", "3000", "-s", "100", "-t", "3", "--chunk-kib", "4")
        assert proc and proc.returncode == 0, proc and proc.stderr
        data = open(good, "rb").read()
        header_size = 16 + struct.unpack_from("<I", data, 12)[0]

        # --- good captures -------------------------------------------------------------------
        out = os.path.join(tmp, "parsed.txt")
        with open(out, "wb") as sink:
            proc = run(memray, "parse", good, stdout=sink)
        lines = open(out).read().splitlines()
        check(proc.returncode == 0, "parse of a good capture succeeds", proc.stderr)
        check(lines[0].startswith("HEADER ") and lines[-1].startswith("END state=complete"), "parse output frame",
              f"{lines[0]!r} ... {lines[-1]!r}")
        check(sum(1 for line in lines if line.startswith("ALLOCATION ")) == 3000, "parse prints every allocation")

        proc = run(memray, "stats", good)
        check(proc.returncode == 0 and b"Total allocations:\n\t3000" in proc.stdout, "stats prints the totals",
              proc.stdout[:200])

        default_json = os.path.join(tmp, "memray-stats-good.bin.json")
        proc = run(memray, "stats", "--json", good)
        check(proc.returncode == 0, "stats --json succeeds", proc.stderr)
        check(proc.stdout.decode().strip() == f"Wrote {default_json}", "stats --json says what it wrote", proc.stdout)
        doc = json.load(open(default_json))
        for key in ("total_num_allocations", "total_bytes_allocated", "allocation_size_histogram",
                    "allocator_type_distribution", "top_allocations_by_size", "top_allocations_by_count",
                    "top_modules_by_allocation_size", "top_modules_by_allocation_count", "metadata"):
            check(key in doc, f"stats JSON has {key}")
        check(doc.get("total_num_allocations") == 3000, "stats JSON total")
        expect_error(memray, "stats", ["--json", good], "File already exists, will not overwrite without --force: "
                     + default_json)
        proc = run(memray, "stats", "--json", "-f", good)
        check(proc.returncode == 0, "stats --json -f overwrites", proc.stderr)
        custom = os.path.join(tmp, "custom.json")
        proc = run(memray, "stats", "--json", "-o", custom, "-n", "2", good)
        check(proc.returncode == 0 and len(json.load(open(custom))["top_allocations_by_size"]) == 2,
              "stats --json -o -n 2", proc.stderr)

        # --- bad captures: the same clean error from both commands ----------------------------
        bad = {}

        def bad_file(name, content):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(content)
            bad[name] = path
            return path

        bad_file("empty.bin", b"")
        bad_file("text.txt", b"this is a text file, not a capture\n" * 10)
        other_version = bytearray(data)
        struct.pack_into("<I", other_version, 8, 99)
        bad_file("version.bin", bytes(other_version))
        bad_file("header_cut.bin", data[:10])
        bad_file("metadata_cut.bin", data[:header_size - 5])
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x10
        bad_file("flipped.bin", bytes(flipped))
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        cases = [
            (os.path.join(tmp, "missing.bin"), "no such file"),
            (tmp, "directory"),
            (fifo, "not a regular file"),
            ("/dev/null", "not a regular file"),
            (bad["empty.bin"], "not a memray capture"),
            (bad["text.txt"], "not a memray capture"),
            (bad["version.bin"], "version 99"),
            (bad["header_cut.bin"], "header_cut.bin"),
            (bad["metadata_cut.bin"], "truncated"),
            (bad["flipped.bin"], "corrupted"),
        ]
        for path, message in cases:
            for command in ("stats", "parse"):
                expect_error(memray, command, [path], message)
        # A corrupted capture names the offset of the damage.
        expect_error(memray, "stats", [bad["flipped.bin"]], "offset")

        # --- a capture cut short is still readable: exit 0 with a warning ----------------------
        cut = bad_file("cut.bin", data[:len(data) - 100])
        proc = run(memray, "stats", cut)
        check(proc.returncode == 0 and b"ended abruptly" in proc.stderr and b"Total allocations" in proc.stdout,
              "stats on a cut capture warns and reports", proc.stderr)
        with open(out, "wb") as sink:
            proc = run(memray, "parse", cut, stdout=sink)
        check(proc.returncode == 0 and open(out).read().splitlines()[-1].startswith("END state=ended_abruptly"),
              "parse on a cut capture prints what is there", proc.stderr)

        # --- usage errors ----------------------------------------------------------------------
        expect_error(memray, "stats", ["--bogus", good], "bogus", status=2)
        expect_error(memray, "stats", [], "missing", status=2)
        expect_error(memray, "stats", ["-n", "0", good], "greater than 0", status=2)
        expect_error(memray, "stats", ["-n", "many", good], "greater than 0", status=2)
        expect_error(memray, "stats", ["-n"], "num-largest", status=2)
        expect_error(memray, "stats", ["-o", custom, good], "--json", status=2)
        expect_error(memray, "stats", [good, good], "", status=2)
        expect_error(memray, "parse", ["--bogus", good], "bogus", status=2)
        expect_error(memray, "parse", [], "missing", status=2)

        for command, options in (("stats", ["--num-largest", "--json", "--output", "--force", "--help"]),
                                 ("parse", ["--help"])):
            proc = run(memray, command, "--help")
            text = proc.stdout.decode()
            check(proc.returncode == 0 and all(option in text for option in options),
                  f"memray {command} --help describes every option", text)

        # --- unwritable output -----------------------------------------------------------------
        expect_error(memray, "stats", ["--json", "-o", os.path.join(tmp, "no", "such", "dir.json"), good],
                     "no such directory")
        expect_error(memray, "stats", ["--json", "-o", tmp, good], "directory")
        expect_error(memray, "stats", ["--json", "-f", "-o", "/dev/full", good], "cannot write /dev/full")

        # --- parse refuses a terminal --------------------------------------------------------------
        leader, follower = pty.openpty()
        try:
            proc = run(memray, "parse", good, stdout=follower)
            check(proc.returncode == 1 and b"You must redirect stdout" in proc.stderr, "parse refuses a terminal",
                  proc.stderr)
        finally:
            os.close(leader)
            os.close(follower)

        # --- parse into a pipe that closes early (`| head`) stops quietly -----------------------------
        head = subprocess.Popen([memray, "parse", good], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head.stdout.read(100)
        head.stdout.close()
        try:
            head.wait(timeout=TIMEOUT)
            stderr = head.stderr.read()
            check(head.returncode in (0, -13) and b"error" not in stderr, "parse | head ends quietly",
                  f"{head.returncode} {stderr!r}")
        except subprocess.TimeoutExpired:
            head.kill()
            check(False, "parse | head ends")

    print(f"cli_errors: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
