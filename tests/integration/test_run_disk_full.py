"""`memray run` and `memray attach -o` on a full disk: say what failed, in one line; exit
non-zero when no capture was written; leave no empty file behind; call a capture cut short
incomplete (payload/src/capture_writer.cpp, memray/format/run_status.h).

The disk is a real 256 KiB tmpfs, mounted in a private mount namespace (unshare -m) by
IN_NAMESPACE, which runs the commands there and reports what it saw as JSON. Needs root."""

import json
import os
import shutil
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

# Run as: unshare --mount --propagation private PYTHON -c IN_NAMESPACE REQUEST_JSON
# REQUEST: {"disk": DIR, "fill": bool, "steps": [{"command": [...], "target": SOURCE?}]}.
# Mounts the tmpfs on DIR, fills it if asked, then runs each step's command (with "{pid}"
# replaced by the pid of a waiting `PYTHON -c SOURCE` target if the step has one) and lists
# DIR after it. Prints [{"returncode", "stdout", "stderr", "files": {name: size}}, ...].
IN_NAMESPACE = r"""
import json, os, subprocess, sys
request = json.loads(sys.argv[1])
disk = request["disk"]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk], check=True)
if request["fill"]:
    filler = os.open(os.path.join(disk, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(filler, b"x" * 512)
    except OSError:
        os.close(filler)
results = []
for step in request["steps"]:
    target = None
    command = step["command"]
    if step.get("target"):
        target = subprocess.Popen([request["python"], "-c", step["target"]], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, universal_newlines=True)
        target.stdout.readline()
        command = [c.replace("{pid}", str(target.pid)) for c in command]
    if step.get("unfill"):
        os.unlink(os.path.join(disk, "filler"))
    done = subprocess.run(command, cwd=disk, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    if target is not None:
        target.communicate("", timeout=120)
    files = {name: os.stat(os.path.join(disk, name)).st_size for name in os.listdir(disk)}
    results.append({"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                    "files": files})
print(json.dumps(results))
"""

# Allocates about 100 MB in blocks of random sizes: a capture of it is far larger than the disk.
BIG_PROGRAM = """
import random
random.seed(1)
kept = []
for i in range(200000):
    block = bytearray(random.randrange(600, 2000))
    if i % 3 == 0:
        kept.append(block)
print("done")
"""

WAITING_TARGET = "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n"


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare(1)")
class DiskFullTests(lib.TempDirTestCase):
    def in_namespace(self, steps, fill):
        disk = self.tmp / "disk"
        disk.mkdir()
        request = {"disk": str(disk), "fill": fill, "steps": steps, "python": lib.test_python()}
        done = lib.run_explained(["unshare", "--mount", "--propagation", "private", sys.executable, "-c",
                                  IN_NAMESPACE, json.dumps(request)], env=lib.memray_env(), timeout=600)
        self.assertEqual(done.returncode, 0, done.stderr)
        return disk, json.loads(done.stdout)

    def memray_run(self, disk, program, *options):
        return [lib.memray_binary(), "run", "--python", lib.test_python(), "-o", str(disk / "out.bin")] \
            + list(options) + ["-c", program]

    def test_full_at_the_start(self):
        disk = self.tmp / "disk"
        program = "print('the program ran')"
        _, (full, freed) = self.in_namespace([
            {"command": self.memray_run(disk, program)},
            {"command": self.memray_run(disk, program), "unfill": True},
        ], fill=True)
        self.assertEqual(full["returncode"], 1, full)
        self.assertEqual(full["stdout"], "")
        self.assertEqual(full["stderr"].splitlines(), [
            "[memray] Writing profile results into %s/out.bin" % disk,
            "memray: error: cannot write %s/out.bin: No space left on device" % disk])
        self.assertNotIn("out.bin", full["files"])
        # Nothing was left behind to make the next run refuse without -f.
        self.assertEqual(freed["returncode"], 0, freed)
        self.assertIn("[memray] Successfully generated profile results.", freed["stderr"])
        self.assertGreater(freed["files"]["out.bin"], 0)

    def test_full_during_the_run(self):
        disk = self.tmp / "disk"
        parse = [lib.memray_binary(), "parse", str(disk / "out.bin")]
        _, (run, parsed) = self.in_namespace([
            {"command": self.memray_run(disk, BIG_PROGRAM)},
            {"command": ["sh", "-c", " ".join(parse) + " | tail -n 3"]},
        ], fill=False)
        self.assertEqual(run["returncode"], 0, run)  # the program's: it ran to its end
        self.assertEqual(run["stdout"], "done\n")
        self.assertNotIn("Successfully", run["stderr"])
        self.assertRegex(run["stderr"], r"\[memray\] The profile results in %s/out.bin are incomplete: "
                                        r"writing stopped after \d+ bytes: No space left on device\.\n"
                         % disk)
        self.assertGreater(run["files"]["out.bin"], 0)
        self.assertIn("\nEND state=ended_abruptly ", "\n" + parsed["stdout"])

    def test_attach_refused_on_a_full_disk(self):
        disk = self.tmp / "disk"
        _, (attach,) = self.in_namespace([
            {"command": [lib.memray_binary(), "attach", "-o", str(disk / "out.bin"), "{pid}"],
             "target": WAITING_TARGET},
        ], fill=True)
        self.assertEqual(attach["returncode"], 1, attach)
        self.assertEqual(len(attach["stderr"].splitlines()), 1, attach["stderr"])
        self.assertIn("No space left on device", attach["stderr"])
        self.assertNotIn("out.bin", attach["files"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
