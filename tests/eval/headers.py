#!/usr/bin/env python3
"""headers.py -- raw 8-bit header text whose charset is not the body's.

Builds messages from held-out prose (tests/eval/prose/, texts the models never
saw; Arabic and Hebrew from the gettext test halves in tests/eval/corpus/, for
want of prose) and runs each through the CLI (`codepage-milter -t`):

  * a Subject (or a From display name) of 20-80 bytes of raw 8-bit text in
    charset H, over
  * a text/plain body of 200-1000 bytes in charset B, labelled B (or, in the
    "unlabelled" rows, with no charset: the engine detects it first).

A header is right when the field, decoded as a reader would (Python's
email.header), is the original text.  Rows with H == B are the control: the
body's charset is the right answer there.  The other rows are what issue 11
asked for: a Russian KOI8-R Subject over a windows-1251 body, a German
Subject over a Russian body, Turkish over Western, Arabic over Latin ...

Samples are deterministic (random.Random with fixed seeds, word windows from
a random place in the text); a sample is kept only when the text round-trips
through the charset and holds an 8-bit byte.  Usage:

  headers.py [-n PER_ROW] [-r REPORT.md] [--floor PCT] BINARY SRCDIR/tests/eval
  headers.py --families [--source prose|corpus] [-n PER_CELL] ...

Exit 1 when the share right over the rows with H != B is below --floor or any
control row is below 95%.  --families: a 5-60 character Subject in each
charset of each single-byte family over a body in each charset of the family
(and over an ASCII body: the header alone); --floor applies to all cells.
--source corpus samples the gettext strings instead of the prose, for tuning
on text the report does not use.
"""
import argparse
import email
import email.errors
import email.header
import email.policy
import email.utils
import os
import random
import subprocess
import sys
import tempfile

# (subject lang, subject charset, body lang, body charset, body labelled, field)
ROWS = [
    # controls: the header is in the body's charset
    ("ru", "cp1251", "ru", "cp1251", True, "Subject"),
    ("de", "cp1252", "de", "cp1252", True, "Subject"),
    ("ja", "shift_jis", "ja", "shift_jis", True, "Subject"),
    ("cs", "iso8859_2", "cs", "iso8859_2", True, "From"),
    ("ru", "koi8_r", "ru", "koi8_r", False, "Subject"),
    # same script, another charset
    ("ru", "koi8_r", "ru", "cp1251", True, "Subject"),
    ("ru", "cp1251", "ru", "koi8_r", True, "Subject"),
    ("uk", "koi8_u", "uk", "cp1251", True, "From"),
    ("ru", "cp866", "ru", "cp1251", True, "Subject"),
    ("cs", "iso8859_2", "cs", "cp1250", True, "Subject"),
    ("pl", "cp1250", "pl", "iso8859_2", True, "From"),
    ("el", "iso8859_7", "el", "cp1253", True, "Subject"),
    ("ja", "shift_jis", "ja", "euc_jp", True, "Subject"),
    ("ja", "euc_jp", "ja", "shift_jis", True, "From"),
    ("ru", "koi8_r", "ru", "cp1251", False, "Subject"),
    # another script or language
    ("ru", "cp1251", "de", "cp1252", True, "Subject"),
    ("de", "cp1252", "ru", "cp1251", True, "Subject"),
    ("fr", "cp1252", "el", "cp1253", True, "From"),
    ("el", "cp1253", "fr", "cp1252", True, "Subject"),
    ("tr", "cp1254", "de", "cp1252", True, "Subject"),
    ("ar", "cp1256", "fr", "cp1252", True, "From"),
    ("he", "cp1255", "en", "cp1252", True, "Subject"),
    ("pl", "cp1250", "de", "cp1252", True, "Subject"),
    ("ru", "koi8_r", "de", "cp1252", False, "Subject"),
    ("ja", "shift_jis", "de", "cp1252", True, "Subject"),
]

MIME_NAMES = {"cp1250": "windows-1250", "cp1251": "windows-1251", "cp1252": "windows-1252",
              "cp1253": "windows-1253", "cp1254": "windows-1254", "cp1255": "windows-1255",
              "cp1256": "windows-1256", "koi8_r": "koi8-r", "koi8_u": "koi8-u", "cp866": "ibm866",
              "iso8859_2": "iso-8859-2", "iso8859_7": "iso-8859-7", "shift_jis": "shift_jis",
              "euc_jp": "euc-jp"}


# --source corpus: the gettext test halves, for tuning apart from the prose
# the report is measured on; languages without one borrow a neighbour's text
CORPUS_STANDIN = {"fi": "fr", "da": "de", "ro": "pl", "sr": "bg", "en": "en"}
SOURCES = ("prose", "corpus")


def load_words(srcdir, lang):
    if SOURCES[0] == "corpus" and lang != "en":
        lang = CORPUS_STANDIN.get(lang, lang)
    for sub in SOURCES:
        path = os.path.join(srcdir, sub, lang + ".txt")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read().split(), sub
    raise SystemExit("headers.py: no text for %s under %s" % (lang, srcdir))


def sample(rng, words, cs, lo, hi, cjk):
    """A run of consecutive words from a random place whose encoding is
    lo..hi bytes, round-trips and holds an 8-bit byte; None after 200 tries."""
    for _ in range(200):
        i = rng.randrange(len(words))
        text = ""
        while i < len(words):
            nxt = (text + ("" if cjk else " ") + words[i]) if text else words[i]
            try:
                enc = nxt.encode(cs)
            except UnicodeEncodeError:
                break
            if len(enc) > hi:
                break
            text = nxt
            i += 1
            if len(enc) >= lo and rng.random() < 0.3:
                break
        if not text:
            continue
        enc = text.encode(cs)
        if lo <= len(enc) <= hi and any(b >= 0x80 for b in enc) and enc.decode(cs) == text:
            return text
    return None


def build(subj, scs, body, bcs, labelled, field):
    ct = "text/plain; charset=%s" % MIME_NAMES[bcs] if labelled else "text/plain"
    if field == "Subject":
        hdr = b"From: Alice <alice@example.org>\nSubject: " + subj.encode(scs)
    else:
        hdr = b"From: " + subj.encode(scs) + b" <sender@example.org>\nSubject: hello"
    return (hdr + b"\nTo: bob@example.org\nMIME-Version: 1.0\nContent-Type: " + ct.encode() +
            b"\nContent-Transfer-Encoding: 8bit\n\n" + body.encode(bcs) + b"\n")


# --families: every single-byte family's charsets against each other.  Each
# charset with a language written in it; the header is 5-60 characters in one
# charset, the body (labelled) in each charset of the family, or plain ASCII
# English with no label ("header only": no prior but the site default).
FAMILIES = [
    ("Western", [("de", "cp1252"), ("fr", "latin_1"), ("fi", "iso8859_15"), ("es", "mac_roman"),
                 ("da", "iso8859_10")]),
    ("Central European", [("pl", "cp1250"), ("cs", "iso8859_2"), ("ro", "iso8859_16"), ("hu", "cp852"),
                          ("cs", "mac_latin2")]),
    ("Cyrillic", [("ru", "cp1251"), ("ru", "koi8_r"), ("uk", "koi8_u"), ("ru", "cp866"),
                  ("sr", "iso8859_5"), ("ru", "cp855"), ("uk", "mac_cyrillic")]),
    ("Greek", [("el", "cp1253"), ("el", "iso8859_7")]),
    ("Turkish", [("tr", "cp1254"), ("tr", "iso8859_9"), ("tr", "iso8859_3")]),
    ("Baltic", [("lt", "cp1257"), ("lv", "iso8859_13"), ("lt", "iso8859_4")]),
    ("Hebrew", [("he", "cp1255"), ("he", "iso8859_8")]),
    ("Arabic", [("ar", "cp1256"), ("ar", "iso8859_6")]),
    ("Thai", [("th", "cp874")]),
    ("Vietnamese", [("vi", "cp1258")]),
]
MIME_NAMES.update({"latin_1": "iso-8859-1", "iso8859_15": "iso-8859-15", "mac_roman": "macintosh",
                   "iso8859_10": "iso-8859-10", "iso8859_16": "iso-8859-16", "cp852": "ibm852",
                   "mac_latin2": "x-mac-ce", "iso8859_5": "iso-8859-5", "cp855": "ibm855",
                   "mac_cyrillic": "x-mac-cyrillic", "iso8859_9": "iso-8859-9", "iso8859_3": "iso-8859-3",
                   "cp1257": "windows-1257", "iso8859_13": "iso-8859-13", "iso8859_4": "iso-8859-4",
                   "iso8859_8": "iso-8859-8", "iso8859_6": "iso-8859-6", "cp874": "windows-874",
                   "cp1258": "windows-1258", None: "-"})


def sample_chars(rng, words, cs, lo, hi):
    """Like sample(), bounded in characters: 5-60 characters of real text."""
    for _ in range(200):
        i, text = rng.randrange(len(words)), ""
        while i < len(words):
            nxt = text + " " + words[i] if text else words[i]
            if len(nxt) > hi:
                break
            text = nxt
            i += 1
            if len(text) >= lo and rng.random() < 0.3:
                break
        try:
            enc = text.encode(cs)
        except UnicodeEncodeError:
            continue
        if lo <= len(text) <= hi and any(b >= 0x80 for b in enc) and enc.decode(cs) == text:
            return text
    return None


def run_one(binary, path, subj, scs, body, bcs, peer):
    """(ours right, uchardet right) for one Subject over one body."""
    with open(path, "wb") as f:
        if bcs is None:
            f.write(build(subj, scs, body, "ascii", False, "Subject"))
        else:
            f.write(build(subj, scs, body, bcs, True, "Subject"))
    r = subprocess.run([binary, "-t", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = decoded_field(r.stdout, "Subject") if r.returncode == 0 else None
    return got == "".join(subj.split()), peer is not None and peer.right(subj.encode(scs), subj)


def families(a, peer):
    """The --families table: per family, header-only and header+prior."""
    words = {}
    out = ["| family | header charsets | header only | same charset as the body | "
           "another charset of the family in the body | uchardet on the header alone |",
           "|---|---|---:|---:|---:|---:|"]
    tot = {"only": [0, 0], "same": [0, 0], "other": [0, 0], "peer": [0, 0]}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.eml")
        for fi, (fam, members) in enumerate(FAMILIES):
            cnt = {"only": [0, 0], "same": [0, 0], "other": [0, 0], "peer": [0, 0]}
            for lang, _ in members + [("en", None)]:
                if lang not in words:
                    words[lang] = load_words(a.srcdir, lang)[0]
            for hi_, (hl, hcs) in enumerate(members):
                bodies = [("en", None)] + members
                for bi, (bl, bcs) in enumerate(bodies):
                    rng = random.Random(5000 + 1000 * fi + 31 * hi_ + bi)
                    key = "only" if bcs is None else "same" if bcs == hcs else "other"
                    for _ in range(a.n):
                        subj = sample_chars(rng, words[hl], hcs, 5, 60)
                        body = (sample(rng, words[bl], bcs, 200, 1000, False) if bcs is not None
                                else " ".join(w for w in words[bl][rng.randrange(len(words[bl]) - 400):][:200]
                                              if w.isascii())[:800])
                        if subj is None or body is None:
                            continue
                        ok, pok = run_one(a.binary, path, subj, hcs, body, bcs, peer)
                        cnt[key][0] += ok
                        cnt[key][1] += 1
                        if key == "only":
                            cnt["peer"][0] += pok
                            cnt["peer"][1] += 1
            for k in tot:
                tot[k][0] += cnt[k][0]
                tot[k][1] += cnt[k][1]

            def pct(c):
                return "%.1f%% (%d)" % (100.0 * c[0] / c[1], c[1]) if c[1] else "-"
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                fam, ", ".join(MIME_NAMES[c] for _, c in members), pct(cnt["only"]), pct(cnt["same"]),
                pct(cnt["other"]), pct(cnt["peer"]) if peer is not None else "-"))

    def pct(c):
        return 100.0 * c[0] / c[1] if c[1] else 0.0
    out.append("| **all** | | **%.1f%%** | **%.1f%%** | **%.1f%%** | %.1f%% |" % (
        pct(tot["only"]), pct(tot["same"]), pct(tot["other"]), pct(tot["peer"])))
    allr = sum(v[0] for k, v in tot.items() if k != "peer")
    alln = sum(v[1] for k, v in tot.items() if k != "peer")
    return out, 100.0 * allr / alln if alln else 0.0


# names (IANA, WHATWG) Python's codecs do not know
PY_NAMES = {"windows-31j": "cp932", "x-mac-ce": "mac_latin2", "x-mac-cyrillic": "mac_cyrillic",
            "windows-874": "cp874"}


def decoded_field(out, field):
    """The field's text as a reader decodes it (encoded-words decoded, the
    display name for From), white space removed: what is measured is the
    charset, and the standard library's decoder drops the space at a fold
    between a word and an encoded-word (white space is the encoder's own
    round-trip test in fuzz_rfc2047).  None when raw 8-bit is left in it or
    it does not decode."""
    msg = email.message_from_bytes(out, policy=email.policy.compat32)
    raw = msg.get(field)
    if raw is None or isinstance(raw, email.header.Header):
        return None		# a Header here: raw 8-bit left
    try:
        text = "".join(b.decode(PY_NAMES.get(cs, cs) if cs else "ascii") if isinstance(b, bytes) else b
                       for b, cs in email.header.decode_header(raw))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        return None
    if field == "From":
        text = email.utils.parseaddr(text)[0] or text
    return "".join(text.split())


class Uchardet:
    """The peer: plain uchardet on the header's bytes alone (libuchardet
    through ctypes), right when its answer decodes them to the text."""

    def __init__(self):
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("uchardet") or "libuchardet.so.0"
        lib = ctypes.CDLL(name)
        lib.uchardet_new.restype = ctypes.c_void_p
        lib.uchardet_handle_data.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.uchardet_data_end.argtypes = [ctypes.c_void_p]
        lib.uchardet_get_charset.argtypes = [ctypes.c_void_p]
        lib.uchardet_get_charset.restype = ctypes.c_char_p
        lib.uchardet_delete.argtypes = [ctypes.c_void_p]
        self.lib = lib

    def right(self, data, text):
        u = self.lib.uchardet_new()
        self.lib.uchardet_handle_data(u, data, len(data))
        self.lib.uchardet_data_end(u)
        name = (self.lib.uchardet_get_charset(u) or b"").decode("ascii", "replace")
        self.lib.uchardet_delete(u)
        try:
            return bool(name) and data.decode(PY_NAMES.get(name.lower(), name)) == text
        except (LookupError, UnicodeError):
            return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=40, help="messages per row")
    ap.add_argument("-r", dest="report", help="write a Markdown table here")
    ap.add_argument("--floor", type=float, default=0.0, help="minimum share right, rows with H != B")
    ap.add_argument("--source", choices=("prose", "corpus"), default="prose",
                    help="text to sample: held-out prose (the report) or gettext strings (tuning)")
    ap.add_argument("--families", action="store_true",
                    help="the single-byte families' charsets against each other, 5-60 characters")
    ap.add_argument("binary")
    ap.add_argument("srcdir")
    a = ap.parse_args()
    global SOURCES
    SOURCES = ("corpus", "prose") if a.source == "corpus" else ("prose", "corpus")
    words, name_words = {}, {}
    results = []
    try:
        peer = Uchardet()
    except OSError:
        peer = None
    if a.families:
        lines, share = families(a, peer)
        table = "\n".join(lines) + "\n"
        sys.stdout.write(table)
        if a.report:
            with open(a.report, "w") as f:
                f.write(table)
        if share < a.floor:
            sys.stderr.write("headers.py: %.1f%% right over the families (floor %.1f%%)\n" % (share, a.floor))
            return 1
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.eml")
        for k, (sl, scs, bl, bcs, labelled, field) in enumerate(ROWS):
            rng = random.Random(1000 + k)
            for lang in (sl, bl):
                if lang not in words:
                    words[lang] = load_words(a.srcdir, lang)
                    name_words[lang] = [w for w in words[lang][0] if all(ch.isalpha() for ch in w)]
            cjk_s, cjk_b = sl in ("ja", "zh_CN", "zh_TW"), bl in ("ja", "zh_CN", "zh_TW")
            right = total = peer_right = 0
            misses = {}
            for _ in range(a.n):
                # a display name is words of letters: punctuation there is
                # address syntax, which no reader takes as a name
                subj = sample(rng, words[sl][0] if field == "Subject" else name_words[sl],
                              scs, 20, 80, cjk_s)
                body = sample(rng, words[bl][0], bcs, 200, 1000, cjk_b)
                if subj is None or body is None:
                    continue
                with open(path, "wb") as f:
                    f.write(build(subj, scs, body, bcs, labelled, field))
                r = subprocess.run([a.binary, "-t", path], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
                total += 1
                if peer is not None and peer.right(subj.encode(scs), subj):
                    peer_right += 1
                got = decoded_field(r.stdout, field) if r.returncode == 0 else None
                if got == "".join(subj.split()):
                    right += 1
                else:
                    msg = email.message_from_bytes(r.stdout, policy=email.policy.compat32)
                    v = msg.get(field, "")
                    v = v if isinstance(v, str) else ""
                    cs = v.split("=?", 1)[1].split("?")[0].lower() if "=?" in v else "left raw"
                    misses[cs] = misses.get(cs, 0) + 1
            results.append(((sl, scs, bl, bcs, labelled, field), right, total, peer_right, misses))
    lines = ["| header text | body | field | samples | right | uchardet on the header | wrong answers |",
             "|---|---|---|---:|---:|---:|---|"]
    cross_right = cross_total = cross_peer = 0
    bad_control = False
    for (sl, scs, bl, bcs, labelled, field), right, total, peer_right, misses in results:
        share = 100.0 * right / total if total else 0.0
        control = scs == bcs
        if control:
            bad_control = bad_control or share < 95.0
        else:
            cross_right += right
            cross_total += total
            cross_peer += peer_right
        lines.append("| %s %s%s | %s %s, %s | %s | %d | %.1f%% | %s | %s |" % (
            sl, MIME_NAMES[scs], " (control)" if control else "", bl, MIME_NAMES[bcs],
            "labelled" if labelled else "no label", field, total, share,
            "%.1f%%" % (100.0 * peer_right / total) if peer is not None and total else "-",
            ", ".join("%s %d" % kv for kv in sorted(misses.items(), key=lambda kv: -kv[1])) or "-"))
    cross = 100.0 * cross_right / cross_total if cross_total else 0.0
    lines.append("| **header charset not the body's** | | | %d | **%.1f%%** | %s | |" % (
        cross_total, cross, "%.1f%%" % (100.0 * cross_peer / cross_total) if peer is not None and cross_total else "-"))
    table = "\n".join(lines) + "\n"
    sys.stdout.write(table)
    if a.report:
        with open(a.report, "w") as f:
            f.write(table)
    if cross < a.floor or bad_control:
        sys.stderr.write("headers.py: %.1f%% right where the header's charset is not the body's "
                         "(floor %.1f%%)%s\n" % (cross, a.floor,
                                                 "; a control row is below 95%" if bad_control else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
