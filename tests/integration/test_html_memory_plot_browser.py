"""The memory plot and the header of the HTML reports (flamegraph and table) in headless
Chromium at 1400 and 800 px wide: tick labels inside the plot's box and in units that fit,
several ticks, the peak marker where the peak is, hover values, no header field clipped
(tests/web/check_memory_plot.mjs measures the page). Screenshots go to
<build>/tests/web-screenshots/memory-plot-*.png."""

import os
import unittest

import memray_testlib

NODE = os.environ.get("MEMRAY_NODE", "node")

# A heap that climbs to about 120 MB in steps, holds, then falls back: a plot with a clear peak.
PROGRAM = """
import time
held = []
for step in range(12):
    held.append(bytearray(10 * 1000 * 1000))
    time.sleep(0.05)
time.sleep(0.2)
while held:
    held.pop()
    time.sleep(0.03)
"""


class HtmlMemoryPlotBrowserTests(memray_testlib.TempDirTestCase):
    def test_memory_plot_in_chromium(self):
        result = memray_testlib.run_script(self.tmp, PROGRAM)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        reports = []
        for view in ("flamegraph", "table"):
            output = self.tmp / (view + ".html")
            process = memray_testlib.run_memray([view, "-o", output, result.capture])
            self.assertEqual(process.returncode, 0, process.stderr)
            reports += ["--report", "%s=%s" % (view, output)]
        screenshots = memray_testlib.BUILD_DIR / "tests" / "web-screenshots"
        checker = memray_testlib.SOURCE_DIR / "tests" / "web" / "check_memory_plot.mjs"
        process = memray_testlib.run_explained(
            [NODE, str(checker)] + reports + ["--widths", "1400,800", "--screenshots", str(screenshots)],
            env=dict(os.environ), timeout=600)
        print(process.stdout)
        self.assertEqual(process.returncode, 0, process.stdout + process.stderr)


if __name__ == "__main__":
    unittest.main()
