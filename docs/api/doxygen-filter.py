#!/usr/bin/env python3
"""Doxygen INPUT_FILTER for include/mmapxx/*.hpp; keeps every line where it is.

The headers keep the project's plain `//` doc blocks (STYLE-ANCHORS: what, syscalls, errors,
cost, kernel). For Doxygen, a `//` block right above a declaration becomes `///` (its
documentation) and a `// ...` after a declaration on the same line becomes `///<`. The leading
block of a file (its job) documents the file when `#pragma once` follows it directly (that line
becomes `/// @file`). A `// ---- internal ----` fence hides everything below it, as does
namespace detail (EXCLUDE_SYMBOLS).
"""
import re
import sys

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out, leading, internal = [], True, False
for line in lines:
    if re.match(r"\s*// ---- internal ----", line):
        internal = True
        out.append("/// @cond INTERNAL")
        continue
    if leading and line.startswith("//"):
        out.append(line)
        continue
    if leading and line.strip() == "#pragma once" and out and out[-1].startswith("//"):
        out = [re.sub(r"^//(?!/)", "///", l) for l in out]
        out.append("/// @file")
        leading = False
        continue
    leading = False
    if re.match(r"\s*//(?!/)", line):
        line = re.sub(r"//(?!/)", "///", line, count=1)
    else:
        code = re.match(r"(\s*[^\s/].*?[;,{]|\s*[^\s/}].*\))(\s+)//(?!/)\s?(.*)$", line)
        if code and not re.match(r"\s*}", line):
            line = f"{code.group(1)}{code.group(2)}///< {code.group(3)}"
    out.append(line)
if internal:
    # End the hidden part before the braces that close the namespaces still open at the fence,
    # so that Doxygen sees them closed; on the same line, to keep line numbers.
    fence = out.index("/// @cond INTERNAL")
    still_open = 0
    for line in out[:fence]:
        still_open += len(re.findall(r"^\s*(?:inline\s+)?namespace\b[^;{]*{", line))
        still_open -= len(re.findall(r"^}\s*// namespace", line))
    last = len(out)
    while still_open > 0 and last > fence + 1:
        if re.match(r"}\s*// namespace", out[last - 1]):
            still_open -= 1
        elif out[last - 1].strip():
            break
        last -= 1
    if last < len(out):
        out[last] = "/** @endcond */ " + out[last]
    else:
        out.append("/// @endcond")
sys.stdout.write("\n".join(out))
