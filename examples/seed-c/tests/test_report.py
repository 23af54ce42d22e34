import unittest

from app.report import failed, report

BUILDS = '[{"name": "a", "status": "success"}, {"name": "b", "status": "failed"}, {"name": "c", "status": "success"}]'


class ReportTest(unittest.TestCase):
    def test_failed_names(self):
        self.assertEqual(failed(BUILDS), ["b"])

    def test_report(self):
        self.assertEqual(report(BUILDS), "2/3 builds passed; failed: b")
        self.assertEqual(report("[]"), "0/0 builds passed")


if __name__ == "__main__":
    unittest.main()
