#!/usr/bin/python3
"""mkdata.py -- build the detection evaluation corpus and the detector's language model.

Source text: the translated strings (msgstr) of the gettext catalogs installed
under /usr/share/locale/LANG/LC_MESSAGES/*.mo on a Debian 12 machine: real
human-written text in many languages.  Catalogs are split by domain name
(crc32 of the domain, even -> test, odd -> train), so the text the evaluation
measures never comes from a catalog the model was trained on; test strings
that also occur in any training catalog are dropped.

Outputs (both committed; rerun only to refresh them):
  tests/eval/corpus/LANG.txt   test strings, UTF-8, one per line (NFC)
  plugin/detect_model.h        character bigram models (alphabetic scripts)
                               and character unigram models (CJK) that
                               detect.c scores candidate decodings with

Standard library only.  Deterministic: sorted inputs, no randomness.
Usage: tests/eval/mkdata.py [--model-only] [TOPDIR]
  --model-only: keep the committed corpus, rebuild only the model; strings
  of the committed corpus are then also dropped from the training text (the
  set of installed catalogs may have changed since the corpus was made).
"""
import collections
import glob
import math
import os
import struct
import sys
import unicodedata
import zlib

LOCALEDIR = "/usr/share/locale"

# model language -> (family tag used by detect.c, source locale dirs)
MODEL_LANGS = [
    ("fr", "WESTERN", ["fr"]), ("de", "WESTERN", ["de"]), ("es", "WESTERN", ["es"]),
    ("pt", "WESTERN", ["pt", "pt_BR"]), ("it", "WESTERN", ["it"]), ("nl", "WESTERN", ["nl"]),
    ("sv", "WESTERN", ["sv"]), ("da", "WESTERN", ["da"]), ("nb", "WESTERN", ["nb"]),
    ("fi", "WESTERN", ["fi"]), ("ca", "WESTERN", ["ca"]), ("gl", "WESTERN", ["gl"]),
    ("pl", "CENTRAL", ["pl"]), ("cs", "CENTRAL", ["cs"]), ("hu", "CENTRAL", ["hu"]),
    ("sk", "CENTRAL", ["sk"]), ("hr", "CENTRAL", ["hr"]), ("sl", "CENTRAL", ["sl"]),
    ("ro", "CENTRAL", ["ro"]),
    ("ru", "CYRILLIC", ["ru"]), ("uk", "CYRILLIC", ["uk"]), ("bg", "CYRILLIC", ["bg"]),
    ("be", "CYRILLIC", ["be"]), ("sr", "CYRILLIC", ["sr"]), ("mk", "CYRILLIC", ["mk"]),
    ("el", "GREEK", ["el"]), ("tr", "TURKISH", ["tr"]), ("he", "HEBREW", ["he"]),
    ("ar", "ARABIC", ["ar"]), ("fa", "ARABIC", ["fa"]),
    ("lt", "BALTIC", ["lt"]), ("lv", "BALTIC", ["lv"]), ("et", "BALTIC", ["et"]),
    ("vi", "VIETNAMESE", ["vi"]), ("th", "THAI", ["th"]),
    ("ja", "JAPANESE", ["ja"]), ("zh_CN", "CHINESE_SIMP", ["zh_CN"]),
    ("zh_TW", "CHINESE_TRAD", ["zh_TW"]), ("ko", "KOREAN", ["ko"]),
]
CJK = {"ja", "zh_CN", "zh_TW", "ko"}
# languages whose test strings are written to the corpus
CORPUS_LANGS = ["fr", "de", "es", "pt", "it", "pl", "cs", "hu", "sk", "ru", "uk", "bg",
                "el", "tr", "he", "ar", "lt", "lv", "vi", "th", "ja", "zh_CN", "zh_TW", "ko"]
# lists of names (countries, languages, keyboard layouts) rather than prose
SKIP_DOMAINS = ("iso_", "xkeyboard-config")
CORPUS_CAP = 90 * 1024		# UTF-8 bytes per language in the committed corpus
MAX_ALPHA = 96			# non-ASCII symbols per alphabetic model
UNIGRAM_TOP = 2500		# characters per CJK model
COST_SCALE = 6.0		# cost units per nat
COST_MAX = 90


def read_mo(path):
    """Translated strings of one .mo file (plural forms split)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic == 0x950412de else ">"
    if struct.unpack(end + "I", data[:4])[0] != 0x950412de:
        return []
    _, n, orig_off, trans_off = struct.unpack(end + "4I", data[4:20])
    charset = "utf-8"
    out = []
    for i in range(n):
        olen, ooff = struct.unpack(end + "2I", data[orig_off + 8 * i:orig_off + 8 * i + 8])
        tlen, toff = struct.unpack(end + "2I", data[trans_off + 8 * i:trans_off + 8 * i + 8])
        msgid = data[ooff:ooff + olen]
        msgstr = data[toff:toff + tlen]
        if olen == 0:
            for line in msgstr.decode("ascii", "replace").split("\n"):
                if line.lower().startswith("content-type:") and "charset=" in line:
                    charset = line.split("charset=")[1].strip()
            continue
        try:
            texts = msgstr.decode(charset).split("\0")
            ids = msgid.decode(charset, "replace").split("\0")
        except (LookupError, UnicodeDecodeError):
            continue
        for t in texts:
            if t and t not in ids:
                out.append(t)
    return out


def clean(s):
    s = unicodedata.normalize("NFC", " ".join(s.split()))
    if len(s) < 4:
        return None
    letters = sum(1 for c in s if c.isalpha())
    if letters < 0.5 * len(s) or all(ord(c) < 128 for c in s):
        return None
    if any(unicodedata.category(c) in ("Cc", "Co", "Cs") for c in s):
        return None
    return s


def domain_is_test(path):
    name = os.path.basename(path)[:-3].encode()
    return zlib.crc32(name) % 2 == 0


def gather(dirs):
    train, test = [], []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(LOCALEDIR, d, "LC_MESSAGES", "*.mo"))):
            if os.path.basename(path).startswith(SKIP_DOMAINS):
                continue
            strings = [c for c in (clean(s) for s in read_mo(path)) if c]
            (test if domain_is_test(path) else train).extend(strings)
    return train, test


def fold(c):
    low = c.lower()
    return low if len(low) == 1 else c


def symbol_of(c, alpha_index, latin_letters):
    """Symbol classes: 0 gap (ASCII non-letters), ASCII letters (own symbol in
    Latin-script models, one shared symbol otherwise), the model's frequent
    non-ASCII characters, last: any other character."""
    o = ord(c)
    if o < 128:
        if "a" <= c.lower() <= "z":
            return (1 + ord(c.lower()) - ord("a")) if latin_letters else 1
        return 0
    return alpha_index.get(fold(c), -1)


def cost(p):
    return min(COST_MAX, max(0, int(round(-math.log(p) * COST_SCALE))))


def c_string(values):
    """Costs 0..90 as one printable char each (no quote, backslash or '?')."""
    s = "".join(chr(32 + v) for v in values)
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")


def as_cp1258_decodes(s):
    """Vietnamese the way a byte-by-byte windows-1258 decoding shows it:
    characters the code page lacks are a base letter (itself maybe
    precomposed, like e-circumflex) followed by a combining tone mark, as
    glibc's CP1258 encoder writes them."""
    out = []
    for c in s:
        try:
            c.encode("cp1258")
            out.append(c)
            continue
        except UnicodeEncodeError:
            pass
        d = unicodedata.normalize("NFD", c)
        base = unicodedata.normalize("NFC", d[:-1])
        try:
            base.encode("cp1258")
            d[-1].encode("cp1258")
            out.append(base + d[-1])
        except UnicodeEncodeError:
            out.append(c)
    return "".join(out)


def alpha_model(lang, family, text_lines):
    if lang == "vi":
        text_lines = [as_cp1258_decodes(s) for s in text_lines]
    latin = family in ("WESTERN", "CENTRAL", "TURKISH", "BALTIC", "VIETNAMESE")
    freq = collections.Counter()
    total = 0
    for s in text_lines:
        for c in s:
            total += 1
            if ord(c) >= 128:
                freq[fold(c)] += 1
    alpha = [c for c, n in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
             if n >= max(5, 1e-5 * total)][:MAX_ALPHA]
    base = 27 if latin else 2
    alpha_index = {c: base + i for i, c in enumerate(alpha)}
    nsym = base + len(alpha) + 1
    other = nsym - 1
    big = [[0] * nsym for _ in range(nsym)]
    uni = [0] * nsym
    for s in text_lines:
        prev = 0
        for c in s + " ":
            sym = symbol_of(c, alpha_index, latin)
            if sym < 0:
                sym = other
            big[prev][sym] += 1
            uni[sym] += 1
            prev = sym
    utotal = sum(uni)
    costs = []
    for a in range(nsym):
        row = sum(big[a])
        for b in range(nsym):
            # interpolated with the unigram so unseen pairs keep a finite cost
            pu = (uni[b] + 0.5) / (utotal + 0.5 * nsym)
            p = (big[a][b] + pu) / (row + 1.0)
            costs.append(cost(p))
    # code point -> symbol, both cases
    cmap = {}
    for c, sym in alpha_index.items():
        cmap[ord(c)] = sym
        for u in (c.upper(), c.title()):
            if len(u) == 1 and ord(u) >= 128:
                cmap.setdefault(ord(u), sym)
    return {"lang": lang, "family": family, "latin": latin, "nsym": nsym,
            "cmap": sorted(cmap.items()), "costs": costs}


def cjk_model(lang, family, text_lines):
    freq = collections.Counter()
    latin = gap = other = 0
    for s in text_lines:
        for c in s + " ":
            o = ord(c)
            if o < 128:
                if c.isalpha():
                    latin += 1
                else:
                    gap += 1
            else:
                freq[c] += 1
    top = [c for c, n in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))][:UNIGRAM_TOP]
    topset = set(top)
    other = sum(n for c, n in freq.items() if c not in topset)
    total = latin + gap + other + sum(freq[c] for c in top)
    entries = sorted((ord(c), cost(freq[c] / total)) for c in top if ord(c) <= 0xffff)
    return {"lang": lang, "family": family, "entries": entries,
            "gap": cost(gap / total), "latin": cost(max(latin, 1) / total),
            "other": cost(max(other, 1) / total)}


def write_model(path, alpha_models, cjk_models):
    out = []
    w = out.append
    w("/*")
    w(" * detect_model.h -- language models for detect.c, generated by tests/eval/mkdata.py")
    w(" * from the training half of Debian's gettext catalogs (do not edit by hand).")
    w(" *")
    w(" * Alphabetic models: symbols are 0 = ASCII non-letter, ASCII letters (1..26")
    w(" * in Latin-script models, else one symbol 1), the model's frequent non-ASCII")
    w(" * characters (cmap, both cases), and nsym-1 = any other character.  costs is")
    w(" * an nsym x nsym matrix of -ln P(next | prev) * %g, one printable char each" % COST_SCALE)
    w(" * (value = char - 32).  CJK models: unigram costs of the most frequent")
    w(" * characters, plus costs for ASCII gap, ASCII letters and other characters.")
    w(" */")
    w("#define MODEL_COST_SCALE %g" % COST_SCALE)
    w("")
    for m in alpha_models:
        w("static const struct model_cmap cmap_%s[] = {" % m["lang"])
        line = "\t"
        for cp, sym in m["cmap"]:
            item = "{0x%04x,%d}," % (cp, sym)
            if len(line) + len(item) > 90:
                w(line)
                line = "\t"
            line += item
        w(line)
        w("};")
        w("static const char costs_%s[] =" % m["lang"])
        s = c_string(m["costs"])
        # split on whole escapes
        chunk, parts, i = "", [], 0
        while i < len(s):
            step = 2 if s[i] == "\\" else 1
            chunk += s[i:i + step]
            i += step
            if len(chunk) >= 76:
                parts.append(chunk)
                chunk = ""
        if chunk:
            parts.append(chunk)
        for p in parts:
            w('\t"%s"' % p)
        w(";")
    w("")
    w("static const struct alpha_model alpha_models[] = {")
    for m in alpha_models:
        w('\t{ "%s", CSF_%s, %s, %d, cmap_%s, ARRAY_LEN(cmap_%s), costs_%s },' % (
            m["lang"], m["family"], "true" if m["latin"] else "false", m["nsym"],
            m["lang"], m["lang"], m["lang"]))
    w("};")
    w("")
    for m in cjk_models:
        w("static const struct model_unigram uni_%s[] = {" % m["lang"])
        line = "\t"
        for cp, c in m["entries"]:
            item = "{0x%04x,%d}," % (cp, c)
            if len(line) + len(item) > 90:
                w(line)
                line = "\t"
            line += item
        w(line)
        w("};")
    w("")
    w("static const struct cjk_model cjk_models[] = {")
    for m in cjk_models:
        w('\t{ "%s", CSF_%s, uni_%s, ARRAY_LEN(uni_%s), %d, %d, %d },' % (
            m["lang"], m["family"], m["lang"], m["lang"], m["gap"], m["latin"], m["other"]))
    w("};")
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")


def main():
    args = sys.argv[1:]
    model_only = "--model-only" in args
    args = [a for a in args if a != "--model-only"]
    top = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..")
    corpus_dir = os.path.join(top, "tests", "eval", "corpus")
    os.makedirs(corpus_dir, exist_ok=True)
    alpha_models, cjk_models = [], []
    for lang, family, dirs in MODEL_LANGS:
        train, test = gather(dirs)
        committed = os.path.join(corpus_dir, lang + ".txt")
        if model_only and os.path.exists(committed):
            with open(committed, encoding="utf-8") as f:
                held_out = set(f.read().split("\n"))
            train = [s for s in train if s not in held_out]
        train_set = set(train)
        train = sorted(set(train))
        if lang in CJK:
            cjk_models.append(cjk_model(lang, family, train))
        else:
            alpha_models.append(alpha_model(lang, family, train))
        if lang in CORPUS_LANGS and not model_only:
            seen, kept, size = set(), [], 0
            for s in test:
                if s in train_set or s in seen:
                    continue
                seen.add(s)
                kept.append(s)
            # spread the cap over all test catalogs: every k-th string
            total = sum(len(s.encode()) + 1 for s in kept)
            step = max(1, total // CORPUS_CAP + (1 if total > CORPUS_CAP else 0))
            with open(os.path.join(corpus_dir, lang + ".txt"), "w", encoding="utf-8") as f:
                for s in kept[::step]:
                    if size + len(s.encode()) + 1 > CORPUS_CAP:
                        break
                    f.write(s + "\n")
                    size += len(s.encode()) + 1
            print("%-6s train %7d strings, corpus %6d bytes" % (lang, len(train), size))
        else:
            print("%-6s train %7d strings" % (lang, len(train)))
    write_model(os.path.join(top, "plugin", "detect_model.h"), alpha_models, cjk_models)


if __name__ == "__main__":
    main()
