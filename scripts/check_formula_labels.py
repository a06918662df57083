#!/usr/bin/env python3
"""Checks that every formula label of science.md is cited by the code that implements it (issue 12 §5).

Labels taken from science.md: equation numbers "(12)" (a range "(4)–(6)" yields "(4)" and "(6)"),
results "Thm 4.2", "Prop. 3.2", "Lemma x.y", "Cor. x.y", "Def. x.y", and section markers "§N" / "§N.M":
science.md's own "## N." headings (code cites them as "science.md §N") and every "§..." it writes
(mostly the survey's, "(survey §5)", "(§5.4, ...)"; code cites those as "survey §N").

A label counts as cited when it occurs in a C/C++ comment block (consecutive comment lines) under core/,
ui/ or app/ that also mentions "science.md" -- the header comment of the implementing function or class.
--loose counts any occurrence anywhere in those files instead. Also reported: science.md citations in
comments that name a label science.md does not have ("science.md §7": it has 6 sections; "Prop. 9.9").

Usage: scripts/check_formula_labels.py [--science PATH] [--allow LABEL ...] [--loose] [-v]
Exit 0 when every label not in --allow is cited and no unknown label is cited; 1 otherwise.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEARCH_DIRS = ("core", "ui", "app")
SOURCE_EXT = (".h", ".hpp", ".hh", ".cpp", ".cc", ".cxx", ".inl", ".ipp")
NUM = r"\d+(?:\.\d+)*"
RESULT_RE = re.compile(r"\b(Thm|Prop\.|Lemma|Cor\.|Def\.)\s*(" + NUM + r")")
EQ_RE = re.compile(r"\((\d+)\)")
SECTION_RE = re.compile(r"§(" + NUM + r")")
SURVEY_RE = re.compile(r"survey\s+§(" + NUM + r")")
HEADING_RE = re.compile(r"^##\s+(\d+)\.", re.M)


def default_science():
    for p in (os.path.join(ROOT, "shared", "docs", "science.md"),
              os.path.join(ROOT, "..", "shared", "docs", "science.md"),
              os.path.join(ROOT, "docs", "science.md")):
        if os.path.isfile(p):
            return os.path.normpath(p)
    return None


def extract_labels(text):
    """Ordered dict label -> kind, in order of first appearance."""
    found = {}
    events = []
    for m in EQ_RE.finditer(text):
        events.append((m.start(), "(%s)" % m.group(1), "equation"))
    for m in RESULT_RE.finditer(text):
        events.append((m.start(), "%s %s" % (m.group(1), m.group(2)), "result"))
    for m in SECTION_RE.finditer(text):
        events.append((m.start(), "§" + m.group(1), "section"))
    for m in HEADING_RE.finditer(text):
        events.append((m.start(), "§" + m.group(1), "section"))
    for _, label, kind in sorted(events):
        found.setdefault(label, kind)
    return found


def label_pattern(label):
    """Regex for a label in code: the same text, not continued by more digits ("§5" != "§5.4", "(1)" exact)."""
    if label.startswith("§"):
        return re.compile(re.escape(label) + r"(?![\d]|\.\d)")
    parts = label.split(" ", 1)
    if len(parts) == 2 and parts[0] in ("Thm", "Prop.", "Lemma", "Cor.", "Def."):
        return re.compile(r"\b" + re.escape(parts[0]) + r"\s*" + re.escape(parts[1]) + r"(?![\d]|\.\d)")
    return re.compile(re.escape(label))


def comment_blocks(src):
    """Comment blocks of C/C++ source as (first line, text): consecutive-line comments are one block."""
    comments = []  # (start line, end line, text)
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            comments.append((line, line, src[i + 2:j]))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j
            body = src[i + 2:j]
            comments.append((line, line + body.count("\n"), body))
            line += body.count("\n")
            i = j + 2
        elif c == "R" and src.startswith('R"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            k = src.find("(", i + 2)
            delim = ")" + src[i + 2:k] + '"' if k >= 0 else '"'
            j = src.find(delim, k + 1)
            j = n if j < 0 else j + len(delim)
            line += src.count("\n", i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            i = j + 1
        else:
            i += 1
    blocks = []
    for start, end, text in comments:
        if blocks and start <= blocks[-1][1] + 1:
            blocks[-1] = (blocks[-1][0], end, blocks[-1][2] + "\n" + text)
        else:
            blocks.append((start, end, text))
    return [(s, t) for s, _, t in blocks]


def source_files(root):
    for d in SEARCH_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXT):
                    yield os.path.join(dirpath, f)


def unknown_citations(text, labels, headings):
    """Labels cited next to "science.md" that science.md does not have."""
    bad = set()
    for m in re.finditer(r"science\.md\b([^):;\n]*)", text):
        for s in SECTION_RE.finditer(m.group(1)):
            if not m.group(1)[:s.start()].rstrip().endswith("survey") and s.group(1) not in headings:
                bad.add("science.md §" + s.group(1))
    for m in RESULT_RE.finditer(text):
        label = "%s %s" % (m.group(1), m.group(2))
        if label not in labels:
            bad.add(label)
    for m in SURVEY_RE.finditer(text):
        if "§" + m.group(1) not in labels:
            bad.add("survey §" + m.group(1))
    return bad


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--science", default=default_science(), help="path of science.md")
    ap.add_argument("--root", default=ROOT, help="repository root (default: this script's parent)")
    ap.add_argument("--allow", nargs="+", action="extend", default=[], metavar="LABEL",
                    help='labels allowed to be uncited, as science.md writes them, e.g. --allow "(24)" "Thm 7.2"')
    ap.add_argument("--loose", action="store_true", help="any occurrence in any file counts, not only science.md comments")
    ap.add_argument("-v", "--verbose", action="store_true", help="print where each label is cited")
    a = ap.parse_args(argv)
    if not a.science or not os.path.isfile(a.science):
        print("check_formula_labels: science.md not found (use --science PATH)", file=sys.stderr)
        return 2
    with open(a.science, encoding="utf-8") as f:
        science = f.read()
    # The repository keeps a copy (docs/science.md) so that a clean clone without the shared folder
    # checks the same labels; where both exist they must be the same text.
    copy = os.path.join(a.root, "docs", "science.md")
    if os.path.isfile(copy) and os.path.normpath(copy) != os.path.normpath(a.science):
        with open(copy, encoding="utf-8") as f:
            if f.read() != science:
                print("check_formula_labels: docs/science.md differs from %s: copy it over" % a.science, file=sys.stderr)
                return 1
    labels = extract_labels(science)
    headings = set(HEADING_RE.findall(science))

    hits = {label: [] for label in labels}
    patterns = {label: label_pattern(label) for label in labels}
    unknown = []
    for path in source_files(a.root):
        with open(path, encoding="utf-8", errors="replace") as f:
            src = f.read()
        rel = os.path.relpath(path, a.root)
        if a.loose:
            chunks = [(1, src)]
        else:
            chunks = [(ln, t) for ln, t in comment_blocks(src) if "science.md" in t]
            for ln, t in chunks:
                for bad in sorted(unknown_citations(t, labels, headings)):
                    unknown.append("%s:%d: %s" % (rel, ln, bad))
        for ln, text in chunks:
            for label, pat in patterns.items():
                m = pat.search(text)
                if m:
                    hits[label].append("%s:%d" % (rel, ln + text.count("\n", 0, m.start())))

    allowed = set(a.allow)
    missing = [l for l in labels if not hits[l] and l not in allowed]
    print("science.md: %s (%d labels)" % (a.science, len(labels)))
    for label, kind in labels.items():
        if a.verbose or not hits[label]:
            where = ", ".join(hits[label][:4]) + (" ..." if len(hits[label]) > 4 else "") if hits[label] else \
                ("NOT CITED (allowed)" if label in allowed else "NOT CITED")
            print("  %-14s %-18s %s" % (label, kind, where))
    for l in sorted(allowed - set(labels)):
        print("  note: --allow %r is not a science.md label" % l)
    for l in sorted(l for l in allowed & set(labels) if hits[l]):
        print("  note: --allow %r is cited now; the allowance can go" % l)
    for u in unknown:
        print("  unknown label cited: " + u)
    if missing or unknown:
        print("FAIL: %d label(s) not cited%s: %s" % (len(missing), "" if a.loose else " in a science.md comment",
                                                    " ".join(missing)) if missing else "FAIL: unknown labels cited")
        return 1
    uncited = [l for l in labels if not hits[l]]
    print("OK: every label is cited" + (" except the allowed " + " ".join(uncited) if uncited else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
