#!/usr/bin/env python3
"""mixed.py -- bodies whose paragraphs are in two charsets (issue 11).

Builds unlabelled text/plain messages from held-out prose (tests/eval/prose/,
texts the models never saw; tests/eval/corpus/ for languages without prose)
and runs each through the CLI twice: `-x` in the default Mode label, and `-t`
with Mode transcode.

  * mixed rows: paragraphs in charset A, then paragraphs in charset B -- a
    reply quoting an older mail ("> " lines after an attribution line), or a
    text with a pasted block in another charset (no quoting).  Right when
    label mode says `mixed` and leaves the part, and transcode mode's UTF-8
    body is the original text.  The peer is what a one-charset repair gives
    at best: the whole part in one charset, which is never the original
    text, so it has no column.
  * control rows: the same shapes with every paragraph in one charset.  A
    `mixed` verdict there is a false split (the number that must stay 0):
    label mode must label it, as without segmentation.

Samples are deterministic (random.Random with fixed seeds).  Usage:

  mixed.py [-n PER_ROW] [-r REPORT.md] [--floor PCT] BINARY SRCDIR/tests/eval

Exit 1 when any control sample is split, or the share right over the mixed
rows is below --floor.
"""
import argparse
import email
import email.policy
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata

# (lang A, charset A, lang B, charset B, shape)
MIXED = [
    ("ru", "cp1251", "ru", "koi8_r", "quote"),
    ("ru", "koi8_r", "ru", "cp1251", "quote"),
    ("uk", "cp1251", "uk", "koi8_u", "quote"),
    ("ru", "cp1251", "ru", "cp866", "quote"),
    ("ru", "cp1251", "ru", "utf-8", "paste"),
    ("de", "cp1252", "de", "utf-8", "paste"),
    ("pl", "cp1250", "pl", "utf-8", "quote"),
    ("fr", "cp1252", "ru", "cp1251", "quote"),
    ("ru", "cp1251", "fr", "cp1252", "quote"),
    ("el", "cp1253", "en", "utf-8", "paste"),
    ("tr", "cp1254", "de", "utf-8", "paste"),
    ("cs", "cp1250", "ru", "koi8_r", "quote"),
    ("el", "iso8859_7", "de", "cp1252", "quote"),
]
CONTROL = [
    ("ru", "cp1251"), ("ru", "koi8_r"), ("uk", "koi8_u"), ("de", "cp1252"), ("fr", "cp1252"),
    ("es", "cp1252"), ("sv", "latin_1"), ("fi", "iso8859_15"), ("pl", "cp1250"), ("cs", "iso8859_2"),
    ("hu", "cp1250"), ("el", "cp1253"), ("tr", "cp1254"), ("pt", "cp1252"), ("it", "cp1252"),
    ("da", "latin_1"), ("nl", "cp1252"), ("ro", "iso8859_16"), ("sr", "iso8859_5"), ("ru", "cp866"),
    ("mk", "cp1251"), ("vi", "cp1258"), ("nb", "latin_1"), ("he", "cp1255"), ("ar", "cp1256"),
]


def load_words(srcdir, lang):
    for sub in ("prose", "corpus"):
        path = os.path.join(srcdir, sub, lang + ".txt")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read().split()
    raise SystemExit("mixed.py: no text for %s under %s" % (lang, srcdir))


def paragraph(rng, words, cs, lines):
    """`lines` lines of 40-72 characters, consecutive words from a random
    place, all encodable in cs."""
    for _ in range(200):
        i, out, cur = rng.randrange(len(words)), [], ""
        while i < len(words) and len(out) < lines:
            w = words[i]
            i += 1
            try:
                w.encode(cs)
            except UnicodeEncodeError:
                break
            if len(cur) + 1 + len(w) > 72 and len(cur) >= 40:
                out.append(cur)
                cur = w
            else:
                cur = cur + " " + w if cur else w
        if len(out) == lines:
            text = "\n".join(out)
            if any(b >= 0x80 for b in text.encode(cs)):
                return text
    return None


def compose(rng, wa, ca, wb, cb, shape):
    """(bytes of the body, its text) or None; cb None: one charset only."""
    na, nb = rng.randint(1, 3), rng.randint(1, 3)
    pa = [paragraph(rng, wa, ca, rng.randint(1, 4)) for _ in range(na)]
    pb = [paragraph(rng, wb, cb or ca, rng.randint(1, 4)) for _ in range(nb)]
    if None in pa or None in pb:
        return None
    head = "\n\n".join(pa) + "\n\n"
    if shape == "quote":
        tail = "On Monday, Anna Smith wrote:\n" + "\n>\n".join(
            "\n".join("> " + ln for ln in p.split("\n")) for p in pb) + "\n"
    else:
        tail = "\n\n".join(pb) + "\n"
    return head.encode(ca) + tail.encode(cb or ca), head + tail


def message(body):
    return (b"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: hello\n"
            b"MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n" + body)


def verdict(binary, path):
    r = subprocess.run([binary, "-x", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    for line in r.stdout.decode("ascii", "replace").splitlines():
        cells = line.split()
        if len(cells) > 3 and cells[0] == "1" and cells[1] == "text/plain":
            return cells[3]
    return None


def transcoded(binary, conf, path):
    r = subprocess.run([binary, "-c", conf, "-t", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        return None
    m = email.message_from_bytes(r.stdout, policy=email.policy.compat32)
    if (m.get_content_charset() or "").lower() != "utf-8":
        return None
    try:
        return m.get_payload(decode=True).decode("utf-8")
    except UnicodeDecodeError:
        return None


def norm(s):
    return unicodedata.normalize("NFC", s.replace("\r\n", "\n")).rstrip("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=20, help="samples per row")
    ap.add_argument("-r", help="write the table (markdown) here")
    ap.add_argument("--floor", type=float, default=0.0, help="minimum %% right over the mixed rows")
    ap.add_argument("binary")
    ap.add_argument("srcdir")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cpm-mixed-")
    path, conf = os.path.join(tmp, "m.eml"), os.path.join(tmp, "t.conf")
    with open(conf, "w") as f:
        f.write("Mode transcode\n")
    words = {}
    lines = ["| text (A then B) | shape | samples | label mode says mixed | transcoded to the original |",
             "|---|---|---:|---:|---:|"]
    tot = [0, 0, 0]
    for k, (la, ca, lb, cb, shape) in enumerate(MIXED):
        wa = words.setdefault(la, load_words(a.srcdir, la))
        wb = words.setdefault(lb, load_words(a.srcdir, lb))
        rng, n, said, right = random.Random(1000 + k), 0, 0, 0
        while n < a.n:
            got = compose(rng, wa, ca, wb, cb, shape)
            if got is None:
                continue
            body, text = got
            with open(path, "wb") as f:
                f.write(message(body))
            n += 1
            said += verdict(a.binary, path) == "mixed"
            out = transcoded(a.binary, conf, path)
            right += out is not None and norm(out) == norm(text)
        tot[0] += n
        tot[1] += said
        tot[2] += right
        lines.append("| %s %s, %s %s | %s | %d | %.1f%% | %.1f%% |" %
                     (la, ca, lb, cb, shape, n, 100.0 * said / n, 100.0 * right / n))
    lines.append("| **mixed, all rows** | | %d | **%.1f%%** | **%.1f%%** |" %
                 (tot[0], 100.0 * tot[1] / tot[0], 100.0 * tot[2] / tot[0]))
    lines += ["", "| one charset (control) | samples | split (false mixed) |", "|---|---:|---:|"]
    ctl, false_split = 0, 0
    for k, (la, ca) in enumerate(CONTROL):
        wa = words.setdefault(la, load_words(a.srcdir, la))
        rng, n, bad = random.Random(2000 + k), 0, 0
        while n < a.n:
            got = compose(rng, wa, ca, wa, None, ("quote", "paste")[n % 2])
            if got is None:
                continue
            with open(path, "wb") as f:
                f.write(message(got[0]))
            n += 1
            bad += verdict(a.binary, path) == "mixed"
        ctl += n
        false_split += bad
        lines.append("| %s %s | %d | %d |" % (la, ca, n, bad))
    lines.append("| **all** | %d | **%d** |" % (ctl, false_split))
    shutil.rmtree(tmp, ignore_errors=True)
    table = "\n".join(lines) + "\n"
    sys.stdout.write(table)
    if a.r:
        with open(a.r, "w") as f:
            f.write(table)
    share = 100.0 * tot[2] / tot[0]
    sys.stderr.write("mixed.py: %.1f%% of mixed bodies transcoded right (floor %.1f%%), "
                     "%d of %d one-charset bodies split\n" % (share, a.floor, false_split, ctl))
    return 1 if false_split > 0 or share < a.floor else 0


if __name__ == "__main__":
    sys.exit(main())
