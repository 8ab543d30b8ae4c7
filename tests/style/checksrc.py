#!/usr/bin/env python3
"""checksrc.py -- the house style of plugin/*.c and include/*.h, checked
(in the spirit of curl's scripts/checksrc.pl).

Usage: checksrc.py [--allowlist FILE] FILE...   exit 0 clean, 1 on violations

Rules (each violation prints FILE:LINE: RULE: message):
  banned      strcpy strcat strncat strncpy sprintf vsprintf gets atoi atol
              atoll atof strtok tmpnam tempnam mktemp alloca -- called anywhere
              outside comments and strings (use buf_*, snprintf, strtol...,
              mkstemp instead)
  brace       a function definition's "{" alone on the line after its head
              ("type name(args)" at column 0), never at the end of the head
  rettype     the return type on the same line as the name: the dominant style
              of plugin/ (440 of 499 definitions when this checker was written)
  longline    more than 120 columns, tabs expanded to 8: what the code keeps
              (one line over 120, 23 over 110 when this was written)
  trailing    white space at the end of a line
  indent      indentation is tabs, then fewer than 8 spaces (KNF continuation),
              never a tab after a space
  funclen     a function body longer than 80 lines
The allowlist holds "FILE RULE" lines (FILE relative to the source tree):
known violations that are tolerated until fixed, so that the checker can run
in CI while other work removes them.
"""
import re
import sys

BANNED = ('strcpy strcat strncat strncpy sprintf vsprintf gets atoi atol atoll atof '
          'strtok tmpnam tempnam mktemp alloca').split()
BANNED_RE = re.compile(r'(?<![A-Za-z0-9_.>])(' + '|'.join(BANNED) + r')\s*\(')
MAX_COLS = 120
MAX_FUNC = 80
TYPE_ONLY_RE = re.compile(r'^(static\s+|extern\s+|inline\s+|const\s+|unsigned\s+|signed\s+|'
                          r'struct\s+\w+\s*|enum\s+\w+\s*|union\s+\w+\s*)*[A-Za-z_]\w*[\s*]*$')


def strip_code(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j == -1 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j == -1 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r'[^\n]', ' ', text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def check_file(path):
    raw = open(path, encoding='utf-8', errors='replace').read()
    lines = raw.split('\n')
    code = strip_code(raw).split('\n')
    found = []

    def bad(lineno, rule, msg):
        found.append((lineno, rule, msg))

    for i, line in enumerate(lines, 1):
        if len(line.expandtabs(8)) > MAX_COLS:
            bad(i, 'longline', '%d columns (limit %d)' % (len(line.expandtabs(8)), MAX_COLS))
        if line != line.rstrip():
            bad(i, 'trailing', 'white space at the end of the line')
        lead = re.match(r'[ \t]*', line).group(0)
        if re.match(r'\t* {8,}', lead) or re.search(r' \t', lead):
            bad(i, 'indent', 'indent with tabs (then at most 7 spaces)')
    for i, line in enumerate(code, 1):
        m = BANNED_RE.search(line)
        if m:
            bad(i, 'banned', '%s() is banned' % m.group(1))
    check_functions(code, bad)
    return found


def check_functions(code, bad):
    start = None
    for i, line in enumerate(code):
        if re.match(r'^[A-Za-z_].*\)\s*\{\s*$', line) and not re.match(r'^(struct|enum|union|typedef)\b', line) \
                and '=' not in line:
            bad(i + 1, 'brace', 'a function\'s opening brace goes on a line of its own')
        if re.match(r'^[A-Za-z_]\w*\(', line) and i > 0 and TYPE_ONLY_RE.match(code[i - 1]) \
                and code[i - 1].strip() and not code[i - 1].rstrip().endswith((';', ',', ')')):
            bad(i + 1, 'rettype', 'return type on the name\'s line ("static int f(void)")')
        if line == '{':
            start = i
        elif line.startswith('}') and start is not None:
            if i - start - 1 > MAX_FUNC:
                bad(start + 1, 'funclen', 'function body of %d lines (limit %d)' % (i - start - 1, MAX_FUNC))
            start = None


def main(argv):
    allow = set()
    files = []
    args = iter(argv)
    for a in args:
        if a == '--allowlist':
            for line in open(next(args)):
                line = line.split('#', 1)[0].split()
                if len(line) == 2:
                    allow.add(tuple(line))
        else:
            files.append(a)
    status = 0
    for path in files:
        for lineno, rule, msg in check_file(path):
            if any(rule == r and (path == f or path.endswith('/' + f)) for f, r in allow):
                continue
            print('%s:%d: %s: %s' % (path, lineno, rule, msg))
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
