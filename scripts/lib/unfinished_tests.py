"""Prints the Swift tests a `swift test` log shows as started but never finished.

Used by scripts/test when the Swift suites overrun their time limit: a test waiting on
something that never comes is named instead of the run just being cut off.
"""
import re
import sys

started: dict[str, int] = {}
finished: set[str] = set()
with open(sys.argv[1], errors="replace") as log:
    for number, line in enumerate(log, 1):
        line = line.strip()
        if line.startswith("◇ Test case "):
            continue
        if match := re.match(r"◇ Test (.+) started\.$", line):
            started.setdefault(match.group(1), number)
        elif match := re.match(r"[✔✘] Test (.+?)(?: with \d+ test cases?)? (?:passed|failed) after", line):
            finished.add(match.group(1))
for name, number in sorted(started.items(), key=lambda item: item[1]):
    if name not in finished and name != "run":
        print(f"  unfinished (started at log line {number}): {name}")
