#!/usr/bin/env python3
"""measure_sender.py -- how the TNEF code page fares against the statistics, measured.

Usage: measure_sender.py BUILD/codepage-milter [SAMPLES_PER_CELL]

Not a test (it measures, it does not pass or fail).  For snippets of the
held-out evaluation texts (tests/eval/corpus, one line each, cut to about
20, 50 and 200 bytes of encoded text) it builds a message with an unlabelled
text/plain part and a winmail.dat whose attOemCodepage is either the code
page the text really is in ("right claim") or a wrong one ("wrong claim"),
runs `codepage-milter -x` and counts:
  right claim: how often the TNEF code page is taken (it should be always);
  wrong claim: how often the wrong code page is taken anyway, and how often
               the statistics alone (no TNEF) would have been right.
The numbers chose SENDER_SLACK_MIN / SENDER_SLACK_PER_BYTE in detect.c.
"""
import base64
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tnefwriter  # noqa: E402

CORPUS = os.path.join(HERE, '..', 'eval', 'corpus')
RIGHT = [('ru', 'cp1251', 1251), ('uk', 'cp1251', 1251), ('pl', 'cp1250', 1250), ('cs', 'cp1250', 1250),
         ('de', 'cp1252', 1252), ('fr', 'cp1252', 1252), ('el', 'cp1253', 1253), ('tr', 'cp1254', 1254),
         ('ja', 'cp932', 932), ('zh_CN', 'gbk', 936), ('zh_TW', 'cp950', 950), ('ko', 'cp949', 949)]
WRONG = [('ru', 'koi8_r', 1252), ('ru', 'cp1251', 1252), ('pl', 'cp1250', 1252), ('de', 'cp1252', 1251),
         ('el', 'cp1253', 1252), ('ru', 'koi8_r', 1251), ('ja', 'cp932', 936), ('zh_CN', 'gbk', 950)]


def snippets(lang, codec, size, n, rng):
    lines = []
    with open(os.path.join(CORPUS, lang + '.txt'), encoding='utf-8') as f:
        for ln in f:
            ln = ln.strip()
            try:
                b = ln.encode(codec)
            except UnicodeEncodeError:
                continue
            if len(b) >= size and any(c >= 0x80 for c in b[:size]):
                lines.append(ln)
    rng.shuffle(lines)
    out = []
    for ln in lines:
        text = ''
        for ch in ln:
            if len((text + ch).encode(codec)) > size:
                break
            text += ch
        if any(c >= 0x80 for c in text.encode(codec)):
            out.append(text)
        if len(out) == n:
            break
    return out


def message(body, oem):
    t = base64.encodebytes(tnefwriter.message(oem=oem)) if oem else None
    m = (b'From: a@example.org\nTo: b@example.net\nSubject: t\nMIME-Version: 1.0\n'
         b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n'
         b'Content-Transfer-Encoding: 8bit\n\n' + body + b'\n')
    if t:
        m += (b'--B\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
              b'Content-Transfer-Encoding: base64\n\n' + t)
    return m + b'--B--\n'


def chosen(binary, msg, tmp):
    path = os.path.join(tmp, 'm.eml')
    with open(path, 'wb') as f:
        f.write(msg)
    out = subprocess.run([binary, '-x', path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith('1.1 '):
            cols = line.split()
            return cols[4], re.search(r'  TNEF attOemCodepage \d+: ', line) is not None
    return None, False


def main(binary, per_cell):
    rng = random.Random(12)
    names = {1250: 'windows-1250', 1251: 'windows-1251', 1252: 'windows-1252', 1253: 'windows-1253',
             1254: 'windows-1254', 932: 'shift_jis', 936: 'gb2312', 950: 'big5', 949: 'euc-kr'}
    with tempfile.TemporaryDirectory() as tmp:
        print('right claim: text in code page C, winmail.dat says C')
        for size in (20, 50, 200):
            taken = total = stats_right = 0
            for lang, codec, cp in RIGHT:
                for text in snippets(lang, codec, size, per_cell, rng):
                    body = text.encode(codec)
                    cs, via = chosen(binary, message(body, cp), tmp)
                    total += 1
                    taken += via and cs == names[cp]
                    stats_right += chosen(binary, message(body, None), tmp)[0] == names[cp]
            print('  %3d bytes: TNEF taken %d/%d; statistics alone right %d/%d'
                  % (size, taken, total, stats_right, total))
        print('wrong claim: text in code page C, winmail.dat says W')
        for size in (20, 50, 200):
            taken = total = stats_right = 0
            for lang, codec, cp in WRONG:
                truth = {'koi8_r': 'koi8-r', 'cp1251': 'windows-1251', 'cp1250': 'windows-1250',
                         'cp1252': 'windows-1252', 'cp1253': 'windows-1253', 'cp932': 'shift_jis',
                         'gbk': 'gb2312'}[codec]
                for text in snippets(lang, codec, size, per_cell, rng):
                    body = text.encode(codec)
                    cs, via = chosen(binary, message(body, cp), tmp)
                    total += 1
                    taken += via
                    stats_right += chosen(binary, message(body, None), tmp)[0] == truth
            print('  %3d bytes: wrong TNEF code page taken %d/%d; statistics alone right %d/%d'
                  % (size, taken, total, stats_right, total))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10))
