"""`memray transform speedscope` opened in speedscope's own page (tests/web/check_speedscope.mjs):
the real application, from its npm package, in headless Chromium, offline. Screenshots go to
<build>/tests/speedscope-screenshots/."""

import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib  # noqa: E402
from test_transform import PROGRAM  # noqa: E402

NODE = os.environ.get("MEMRAY_NODE", "node")


class SpeedscopeBrowserTests(memray_testlib.TempDirTestCase):
    def test_speedscope_opens_the_profile(self):
        result = memray_testlib.run_script(self.tmp, PROGRAM)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        profile = self.tmp / "profile.speedscope.json"
        process = memray_testlib.run_memray(["transform", "speedscope", "-o", profile, result.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        screenshots = memray_testlib.BUILD_DIR / "tests" / "speedscope-screenshots"
        checker = memray_testlib.SOURCE_DIR / "tests" / "web" / "check_speedscope.mjs"
        process = memray_testlib.run_explained(
            [NODE, str(checker), "--profile", str(profile), "--screenshots", str(screenshots),
             # speedscope prints sizes in units of 1024 bytes: the known allocations, N MiB + 1.
             "keep=6.00 MB", "recurse=3.00 MB", "temporary=12.00 MB", "worker_alloc=2.00 MB", "main"],
            env=dict(os.environ), timeout=600)
        print(process.stdout)
        self.assertEqual(process.returncode, 0, process.stdout + process.stderr)


if __name__ == "__main__":
    unittest.main()
