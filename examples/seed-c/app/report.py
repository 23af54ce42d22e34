"""Summarises a JSON list of builds read on stdin (uses jq for the filter, python for the report)."""
import json
import subprocess
import sys


def failed(builds_json: str) -> list[str]:
    out = subprocess.run(
        ["jq", "-r", '.[] | select(.status != "success") | .name'],
        input=builds_json, capture_output=True, text=True, check=True,
    )
    return [line for line in out.stdout.splitlines() if line]


def report(builds_json: str) -> str:
    total = len(json.loads(builds_json))
    bad = failed(builds_json)
    return f"{total - len(bad)}/{total} builds passed" + (f"; failed: {', '.join(bad)}" if bad else "")


if __name__ == "__main__":
    print(report(sys.stdin.read()))
