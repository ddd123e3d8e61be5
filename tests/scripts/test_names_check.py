#!/usr/bin/env python3
"""Every Catch2 test name can run under ctest: catch_discover_tests makes one ctest test per
name, and a ';' splits it (CMake's list separator) into tests that match nothing and pass
without running anything. Fails naming each such test."""
import glob
import re
import sys

root = sys.argv[1]
bad = []
for path in sorted(glob.glob(f"{root}/tests/*.cc") + glob.glob(f"{root}/tests/mpi/*.cc")):
    text = open(path).read()
    for m in re.finditer(r'TEST_CASE\(((?:\s*"(?:[^"\\]|\\.)*")+)', text):
        name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
        if ";" in name:
            line = text.count("\n", 0, m.start()) + 1
            bad.append(f"{path}:{line}: test name has ';' (ctest would split it and run nothing): {name}")
print("\n".join(bad) if bad else "test names: none has ';'")
sys.exit(1 if bad else 0)
