import unittest

from app.greet import MAX_NAME, greeting, main


class GreetingTest(unittest.TestCase):
    def test_greets_by_name(self):
        self.assertEqual(greeting("Ada"), "Hello, Ada!")

    def test_strips_blanks(self):
        self.assertEqual(greeting("  Ada "), "Hello, Ada!")

    def test_refuses_empty_and_long_names(self):
        with self.assertRaises(ValueError):
            greeting("   ")
        with self.assertRaises(ValueError):
            greeting("x" * (MAX_NAME + 1))

    def test_main_exit_codes(self):
        self.assertEqual(main(["greet", "Ada"]), 0)
        self.assertEqual(main(["greet", "x" * (MAX_NAME + 1)]), 2)


if __name__ == "__main__":
    unittest.main()
