"""The HTML reports of a real capture in headless Chromium (tests/web/check_reports.mjs drives
it): frames drawn, search, zoom and back, inverted view, temporal ranges, the thread filter,
the table, native frames of a --native capture, no console error, no network request.
Screenshots go to <build>/tests/web-screenshots/."""

import os
import unittest

import memray_testlib
from html_report_lib import KNOWN_PROGRAM, capture_known_program

NODE = os.environ.get("MEMRAY_NODE", "node")


class HtmlReportBrowserTests(memray_testlib.TempDirTestCase):
    def test_reports_in_chromium(self):
        capture = capture_known_program(self.tmp).capture
        flamegraph = self.tmp / "flamegraph.html"
        temporal = self.tmp / "temporal.html"
        threads = self.tmp / "threads.html"
        table = self.tmp / "table.html"
        native = self.tmp / "native.html"
        native_capture = memray_testlib.run_script(self.tmp / "native", KNOWN_PROGRAM, options=["--native"])
        self.assertEqual(native_capture.process.returncode, 0, native_capture.process.stderr)
        process = memray_testlib.run_memray(["flamegraph", "-o", native, native_capture.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        for args in (["flamegraph", "-o", flamegraph], ["flamegraph", "--temporal", "-o", temporal],
                     ["flamegraph", "--split-threads", "-o", threads], ["table", "-o", table]):
            process = memray_testlib.run_memray(args + [capture])
            self.assertEqual(process.returncode, 0, process.stderr)
        screenshots = memray_testlib.BUILD_DIR / "tests" / "web-screenshots"
        checker = memray_testlib.SOURCE_DIR / "tests" / "web" / "check_reports.mjs"
        process = memray_testlib.run_explained(
            [NODE, str(checker), "--flamegraph", str(flamegraph), "--temporal", str(temporal),
             "--threads", str(threads), "--table", str(table), "--native", str(native),
             "--screenshots", str(screenshots)], env=dict(os.environ), timeout=600)
        print(process.stdout)
        self.assertEqual(process.returncode, 0, process.stdout + process.stderr)


if __name__ == "__main__":
    unittest.main()
