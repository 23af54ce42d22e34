"""A small app with real work to test, lint and package: greetings with a name check."""
import sys

MAX_NAME = 64


def greeting(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("a name is required")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    return f"Hello, {name}!"


def main(argv: list[str]) -> int:
    try:
        print(greeting(" ".join(argv[1:]) or "world"))
    except ValueError as err:
        print(f"greet: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
