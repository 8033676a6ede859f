#!/usr/bin/env python3
"""Check the security-review demo records against the rules in datasets/README.md.

Usage: python3 datasets/check_demo.py [path/to/records.jsonl]

Prints every rule violation, then the counts per vulnerability class and language and the
severity distribution. Exits 1 when a rule is broken. Standard library only.

The language is not a field in the records, so it is recognised from the snippet with the
heuristics in `language()`; they are tuned to this file, not a general detector.
"""

import json
import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path

KEYS = ["instruction", "input", "output", "must_include"]
OUTPUT_RE = re.compile(
    r"^Severity: (Critical|High|Medium|Low|None)\nVulnerability: .+\nExplanation: .+\nFix: .+$"
)
MAX_WORDS = 72
MAX_INSTRUCTION_USES = 2
MAX_JACCARD = 0.6
MIN_LINES, MAX_LINES = 3, 15
PER_CLASS = (10, 12)

# Vulnerability class (as in the README table) of each CWE id.
CLASSES = {
    "CWE-79": "Cross-site scripting",
    "CWE-89": "SQL injection",
    "CWE-78": "OS command injection",
    "CWE-22": "Path traversal",
    "CWE-120": "Buffer overflow",
    "CWE-787": "Buffer overflow",
    "CWE-352": "Cross-site request forgery",
    "CWE-798": "Hard-coded credentials",
    "CWE-502": "Insecure deserialization",
    "CWE-639": "Missing authorization / IDOR",
    "CWE-862": "Missing authorization / IDOR",
    "CWE-918": "Server-side request forgery",
    "CWE-327": "Weak cryptography / password hashing",
    "CWE-916": "Weak cryptography / password hashing",
    "CWE-330": "Insecure randomness",
    "CWE-190": "Integer overflow",
    "CWE-601": "Open redirect",
    "CWE-367": "Race condition (TOCTOU)",
    "CWE-611": "XML external entity",
}
SAFE = "Safe code (Severity: None)"
LANGUAGES = ["Py", "JS/TS", "Java", "Go", "PHP", "C", "Rust", "Ruby", "C#"]


def language(code: str) -> str:
    """The snippet's language, recognised from tell-tale syntax (first match wins)."""
    rules = [
        ("PHP", r"<\?php|\{\{--|@foreach|\$_(GET|POST|COOKIE|FILES|SERVER)|^Route::"),
        ("Rust", r"\bfn \w+.*->|\blet mut\b|\bimpl\b|::new\(|\bunsafe \{|&\[u8\]|\bpub fn\b|\bsqlx::"),
        ("C#", r"\[Http(Get|Post|Put|Delete)|\bnamespace\b|\bIActionResult\b|\bvar \w+ = new\b|"
               r"\busing \(|\bstring \w+ =|\bawait \w+\.\w+Async\(|\bpublic async Task\b|\bcref\b"),
        ("Go", r"^func |\bfunc\(|:= |^import \"|^\t|\bhttp\.ResponseWriter\b"),
        ("Java", r"@(Get|Post|Put|Delete|Request)Mapping|\bpublic (static )?[\w<>\[\], ]+ \w+\(|"
                 r"\bprivate static final\b|@Configuration|\bprotected void do(Get|Post)\b"),
        ("Ruby", r"^\s*(def \w+[^:]*$|end$|class \w+ < )|\bparams\[:|<%=|\bdo \|"),
        ("Py", r"^\s*(def |async def |from \w+ import|import \w+|@app\.|@login_required|@csrf_exempt)"),
        ("C", r"\bconst (char|uint8_t|unsigned char) \*|#include|#define|\b(char|int|void|uint\d+_t|size_t|struct \w+)\s*\*?\s*\w+\s*[\[(;=]"),
        ("JS/TS", r"=>|\bconst \b|\blet \b|\bfunction\b|\brequire\(|document\.|window\."),
    ]
    for name, pattern in rules:
        if re.search(pattern, code, re.M):
            return name
    return "?"


def shingles(text: str) -> set:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def check(path: Path) -> int:
    errors = []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: not JSON: {e}")
            continue
        if not isinstance(r, dict) or list(r) != KEYS:
            errors.append(f"line {n}: keys must be {KEYS} in that order, got {list(r)}")
            continue
        records.append((n, r))

    instructions = Counter(r["instruction"] for _, r in records)
    for text, uses in instructions.items():
        if uses > MAX_INSTRUCTION_USES:
            errors.append(f"instruction used {uses} times: {text!r}")

    classes, langs, severities = Counter(), Counter(), Counter()
    table = Counter()
    cwe_counts = Counter()
    for n, r in records:
        out, code, kw = r["output"], r["input"], r["must_include"]
        m = OUTPUT_RE.match(out)
        if not m:
            errors.append(f"line {n}: output does not match the four-line format")
            continue
        lines = code.split("\n")
        if not MIN_LINES <= len(lines) <= MAX_LINES:
            errors.append(f"line {n}: input has {len(lines)} lines, not {MIN_LINES}-{MAX_LINES}")
        words = len(out.split())
        if words > MAX_WORDS:
            errors.append(f"line {n}: output has {words} words, more than {MAX_WORDS}")
        severity = m.group(1)
        vuln = out.split("\n")[1][len("Vulnerability: ") :]
        fix = out.split("\n")[3][len("Fix: ") :]
        if severity == "None":
            expected, cls = "none found", SAFE
            if vuln != "None found" or fix != "No change needed.":
                errors.append(f"line {n}: safe records say 'None found' and 'No change needed.'")
        else:
            cwe = re.fullmatch(r".+ \((CWE-\d+)\)", vuln)
            if not cwe or cwe.group(1) not in CLASSES:
                errors.append(f"line {n}: Vulnerability line needs a known '(CWE-id)': {vuln!r}")
                continue
            # With its parentheses, so that "(cwe-79)" does not also match "(CWE-798)".
            expected, cls = f"({cwe.group(1).lower()})", CLASSES[cwe.group(1)]
            cwe_counts[cwe.group(1)] += 1
        if not (isinstance(kw, list) and len(kw) == 1 and isinstance(kw[0], str)):
            errors.append(f"line {n}: must_include must be a list with one keyword, got {kw!r}")
        elif kw[0] != kw[0].lower() or kw[0] not in out.lower():
            errors.append(f"line {n}: must_include {kw[0]!r} must be lowercase and occur in the output")
        elif kw[0] != expected:
            errors.append(f"line {n}: must_include is {kw[0]!r}, expected {expected!r}")
        lang = language(code)
        if lang == "?":
            errors.append(f"line {n}: language not recognised")
        classes[cls] += 1
        langs[lang] += 1
        severities[severity] += 1
        table[cls, lang] += 1

    # The exam matches keywords as case-insensitive substrings: one keyword inside another
    # would count an answer naming the wrong class as right.
    keywords = sorted({r["must_include"][0] for _, r in records if isinstance(r["must_include"], list)
                       and r["must_include"] and isinstance(r["must_include"][0], str)})
    for a, b in combinations(keywords, 2):
        if a in b or b in a:
            errors.append(f"must_include keywords {a!r} and {b!r}: one contains the other")

    sets = [(n, shingles(r["input"])) for n, r in records]
    highest = (0.0, None, None)
    for (a, sa), (b, sb) in combinations(sets, 2):
        j = jaccard(sa, sb)
        if j > highest[0]:
            highest = (j, a, b)
        if j > MAX_JACCARD:
            errors.append(f"lines {a} and {b}: inputs are {j:.2f} similar (3-gram Jaccard)")

    for cls in sorted(set(CLASSES.values())):
        lo, hi = PER_CLASS
        if not lo <= classes[cls] <= hi:
            errors.append(f"class {cls!r} has {classes[cls]} records, not {lo}-{hi}")

    used = [lang for lang in LANGUAGES if langs[lang]] + (["?"] if langs["?"] else [])
    width = max(len(c) for c in list(CLASSES.values()) + [SAFE])
    print(f"{'Class':<{width}} " + " ".join(f"{l:>5}" for l in used) + "  Total")
    for cls in sorted(set(CLASSES.values())) + [SAFE]:
        cells = " ".join(f"{table[cls, l]:>5}" for l in used)
        print(f"{cls:<{width}} {cells}  {classes[cls]:>5}")
    print(f"{'Total':<{width}} " + " ".join(f"{langs[l]:>5}" for l in used) + f"  {len(records):>5}")
    print()
    print("CWE ids: " + ", ".join(f"{c} {k}" for c, k in sorted(cwe_counts.items())))
    order = ["Critical", "High", "Medium", "Low", "None"]
    print("Severity: " + ", ".join(f"{s} {severities[s]}" for s in order))
    print(f"Instructions: {len(instructions)} distinct, most used {max(instructions.values())} times")
    if highest[1]:
        print(f"Highest input 3-gram Jaccard: {highest[0]:.2f} (lines {highest[1]} and {highest[2]})")
    longest = max(len(r["output"].split()) for _, r in records)
    print(f"Longest output: {longest} words")
    print()
    for e in errors:
        print("ERROR " + e)
    print(f"{len(records)} records, {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    default = Path(__file__).parent / "security-review" / "records.jsonl"
    sys.exit(check(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
