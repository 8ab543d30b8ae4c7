#!/usr/bin/env python3
"""samples.py -- every shared TNEF sample parses to the values its manifest lists.

Usage: samples.py TNEF_DUMP SAMPLES_DIR

SAMPLES_DIR is ../shared/tnef-samples beside the source tree (other
projects' test files under their own licences: read here, never copied into
the repository).  For each row of the first table of SAMPLES_DIR/MANIFEST.md
the file is read by our reader (tests/tnef/tnef_dump) whole, byte by byte
and in 7-byte pieces; attOemCodepage, PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE
and PR_MESSAGE_LOCALE_ID must equal the manifest's, a body listed as
attBody or PR_BODY:string8 must read as string8, and the three chunkings
must agree.  Exit 0 when all hold, 1 otherwise.
"""
import os
import re
import subprocess
import sys


def manifest_rows(path):
    rows, in_table = [], False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('| file |'):
                in_table = True
                continue
            if in_table and line.startswith('|---'):
                continue
            if in_table and not line.startswith('|'):
                break
            if in_table:
                cells = [c.strip() for c in line.strip().strip('|').split('|')]
                rows.append(cells)
    return rows


def value(cell):
    m = re.match(r'(\d+)', cell)
    return m.group(1) if m else '-'


def dump(tool, path, chunk):
    args = [tool] + (['-c', str(chunk)] if chunk else []) + [path]
    line = subprocess.run(args, check=True, capture_output=True, text=True).stdout.rstrip('\n')
    fields = dict(f.split('=', 1) for f in line.split('\t')[1:])
    return line.split('\t', 1)[1], fields


def main(tool, samples):
    rows = manifest_rows(os.path.join(samples, 'MANIFEST.md'))
    failures = 0
    for cells in rows:
        name = cells[0].strip('`')
        want = {'oem': value(cells[4]), 'cpid': value(cells[5]), 'mcp': value(cells[6]),
                'lcid': value(cells[7])}
        bodies = cells[8]
        path = os.path.join(samples, name)
        whole, got = dump(tool, path, 0)
        problems = ['%s=%s, manifest %s' % (k, got[k], v) for k, v in want.items() if got[k] != v]
        if ('attBody' in bodies or 'PR_BODY:string8' in bodies) and got['body'] != 'string8':
            problems.append('body=%s, manifest lists %s' % (got['body'], bodies))
        for chunk in (1, 7):
            if dump(tool, path, chunk)[0] != whole:
                problems.append('chunks of %d bytes give a different result' % chunk)
        status = 'FAIL' if problems else 'ok'
        print('%s %s: %s %s' % (status, name, ' '.join('%s=%s' % (k, got[k]) for k in want),
                                '; '.join(problems) or got['note']))
        failures += bool(problems)
    print('%d samples, %d failed' % (len(rows), failures))
    return 1 if failures or not rows else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
