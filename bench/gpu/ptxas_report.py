#!/usr/bin/env python3
"""Register / spill report of every sm_90a kernel in an nvcc build log made with -Xptxas -v.

Prints "<regs> regs  stack <S>B spill st/ld <st>/<ld>B  <mangled kernel>" per kernel (pipe it
through cu++filt to demangle)."""
import re
import sys

name, spill = None, ""
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"Compiling entry function '(\w+)' for 'sm_90a'", line)
    if m:
        name, spill = m.group(1), ""
    m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m and name:
        spill = f"stack {m.group(1)}B spill st/ld {m.group(2)}/{m.group(3)}B"
    m = re.search(r"Used (\d+) registers", line)
    if m and name:
        print(f"{int(m.group(1)):4d} regs  {spill}  {name}")
        name = None
