#!/usr/bin/python3
"""mkdata.py -- build the detection evaluation corpus and the detector's language model.

Source text: the translated strings (msgstr) of the gettext catalogs installed
under /usr/share/locale/LANG/LC_MESSAGES/*.mo on a Debian 12 machine: real
human-written text in many languages.  Catalogs are split by domain name
(crc32 of the domain, even -> test, odd -> train), so the text the evaluation
measures never comes from a catalog the model was trained on; test strings
that also occur in any training catalog are dropped.

Second source kind, prose: the translated manual pages of Debian's
manpages-LANG packages (manpages-l10n) are split by page name the same way
(crc32 of the page name odd -> training, even -> held out).  The prose
evaluation corpus is text of sources the models never saw: the held-out
manual pages, the translated manual pages other packages install (dpkg,
apt, ...), Debian's translated documentation (debian-reference,
debian-faq, maint-guide: HTML and text) and CPython's CJK codec test data.

Outputs (all committed; rerun only to refresh them):
  tests/eval/corpus/LANG.txt   test strings, UTF-8, one per line (NFC)
  tests/eval/prose/LANG.txt    prose paragraphs from sources never trained
                               on, UTF-8, one per line, in document order;
                               en.txt is English prose for the "text + N KB
                               of English" rows
  plugin/detect_model.h        character bigram models (alphabetic scripts)
                               and character unigram models (CJK) that
                               detect.c scores candidate decodings with

Standard library only.  Deterministic: sorted inputs, no randomness.
Packages read (beyond a Debian 12 base): manpages-{cs,da,de,el,es,fi,fr,hu,
it,ja,mk,nb,nl,pl,pt-br,ro,ru,sr,sv,tr,uk,vi,zh}, debian-reference-{de,es,
fr,it,ja,pt,zh-cn,zh-tw}, debian-faq-{de,fr,it,ja,ko,nl,pt,ru,zh-cn},
maint-guide-{de,es,fr,it,ja,ru,vi,zh-cn,zh-tw}, libpython3.11-testsuite.
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
    ("is", "WESTERN", ["is"]), ("eo", "OTHER", ["eo"]),
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
        # both the decomposed form a windows-1258 decoding shows and the
        # precomposed letters that VISCII (and UTF-8) decode to
        text_lines = [as_cp1258_decodes(s) for s in text_lines] + text_lines
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
    w(" * from the training half of Debian's gettext catalogs and translated manual")
    w(" * pages (do not edit by hand).")
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


# ---- prose: manual pages, documentation, CPython test data ---------------------------

MANDIR = "/usr/share/man"
PROSE_CAP = 48 * 1024		# UTF-8 bytes per language in the committed prose corpus
ENGLISH_CAP = 24 * 1024
# model language -> man page directory, manpages-l10n package, documentation code
PROSE_LANGS = {
    "fr": ("fr", "manpages-fr", "fr"), "de": ("de", "manpages-de", "de"),
    "es": ("es", "manpages-es", "es"), "pt": ("pt_BR", "manpages-pt-br", "pt"),
    "it": ("it", "manpages-it", "it"), "nl": ("nl", "manpages-nl", "nl"),
    "sv": ("sv", "manpages-sv", None), "da": ("da", "manpages-da", None),
    "nb": ("nb", "manpages-nb", None), "fi": ("fi", "manpages-fi", None),
    "pl": ("pl", "manpages-pl", None), "cs": ("cs", "manpages-cs", None),
    "hu": ("hu", "manpages-hu", None), "ro": ("ro", "manpages-ro", None),
    "ru": ("ru", "manpages-ru", "ru"), "uk": ("uk", "manpages-uk", None),
    "mk": ("mk", "manpages-mk", None), "sr": ("sr", "manpages-sr", None),
    "el": ("el", "manpages-el", None), "tr": ("tr", "manpages-tr", None),
    "vi": ("vi", "manpages-vi", "vi"), "ja": ("ja", "manpages-ja", "ja"),
    "zh_CN": ("zh_CN", "manpages-zh", "zh-cn"), "zh_TW": ("zh_TW", "manpages-zh", "zh-tw"),
    "ko": ("ko", None, "ko"),
}
CJK_TESTDATA = {"ja": ["shift_jis", "euc_jp"], "zh_CN": ["gb2312", "gbk", "gb18030"],
                "zh_TW": ["big5"], "ko": ["euc_kr", "cp949", "johab"]}
ROFF_TEXT_MACROS = {"B", "I", "BR", "RB", "IR", "RI", "BI", "IB", "SH", "SS", "SM", "SB"}
ROFF_BREAKS = {"PP", "P", "LP", "SH", "SS", "TP", "IP", "HP", "br", "sp", "RS", "RE", "nf",
               "fi", "TH", "EX", "EE", "UR", "UE", "MT", "ME", "TQ", "in", "ti", "bp"}
ROFF_NAMED = {"em": "\u2014", "en": "\u2013", "aq": "'", "dq": '"', "lq": "\u201c",
              "rq": "\u201d", "oq": "\u2018", "cq": "\u2019", "bu": "\u2022", "co": "\u00a9",
              "hy": "-", "mi": "-", "pl": "+", "ga": "`", "aa": "\u00b4", "ti": "~",
              "Fo": "\u00ab", "Fc": "\u00bb", "fo": "\u2039", "fc": "\u203a", "r!": "\u00a1",
              "r?": "\u00bf", "de": "\u00b0", "tm": "\u2122", "rg": "\u00ae", "mu": "\u00d7"}


def roff_inline(line):
    """Text of one roff line: fonts, escapes and named characters resolved."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c != "\\" or i + 1 == len(line):
            out.append(c)
            i += 1
            continue
        n = line[i + 1]
        if n in "fFs":			# font / size: \fB \f(CW \f[...] \s-1
            j = i + 2
            if j < len(line) and line[j] == "(":
                j += 3
            elif j < len(line) and line[j] == "[":
                j = line.find("]", j) + 1 or len(line)
            else:
                j += 1
                while n == "s" and j < len(line) and line[j].isdigit():
                    j += 1
            i = j
        elif n == "(":
            out.append(ROFF_NAMED.get(line[i + 2:i + 4], ""))
            i += 4
        elif n == "[":
            j = line.find("]", i)
            name = line[i + 2:j] if j > 0 else ""
            if name.startswith("u") and all(x in "0123456789ABCDEFabcdef" for x in name[1:]) and name[1:]:
                out.append(chr(int(name[1:], 16)))
            else:
                out.append(ROFF_NAMED.get(name, ""))
            i = j + 1 if j > 0 else len(line)
        elif n in "-e":
            out.append("-" if n == "-" else "\\")
            i += 2
        elif n in "&|^%:c":
            i += 2
        elif n in " ~0":
            out.append(" ")
            i += 2
        elif n == '"':			# comment
            break
        elif n == "*":			# string: \*(xx \*[..] \*x
            j = i + 2
            j = (j + 3) if j < len(line) and line[j] == "(" else \
                (line.find("]", j) + 1 or len(line)) if j < len(line) and line[j] == "[" else j + 1
            i = j
        else:
            i += 2
    return "".join(out)


def man_paragraphs(path):
    """Paragraphs of a (gzipped) man page, roff markup stripped."""
    import gzip
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return []
    paras, cur = [], []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            parts = line[1:].strip().split(None, 1)
            macro = parts[0] if parts else ""
            if macro in ROFF_BREAKS and cur:
                paras.append(" ".join(cur))
                cur = []
            if macro in ROFF_TEXT_MACROS and len(parts) > 1:
                cur.append(roff_inline(parts[1].replace('"', "")))
            continue
        cur.append(roff_inline(line))
        if not line.strip() and cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return [c for c in (clean(p) for p in paras) if c]


def package_files(pkg):
    try:
        with open("/var/lib/dpkg/info/%s.list" % pkg, encoding="utf-8") as f:
            return set(f.read().split("\n"))
    except OSError:
        return set()


def page_is_test(path):
    name = os.path.basename(path).split(".")[0].encode()
    return zlib.crc32(name) % 2 == 0


def man_pages(lang):
    """(training paragraphs, held-out paragraphs by source) of a language."""
    mdir, pkg, _ = PROSE_LANGS.get(lang, (None, None, None))
    if mdir is None:
        return [], []
    owned = package_files(pkg) if pkg else set()
    train, test = [], []
    for path in sorted(glob.glob(os.path.join(MANDIR, mdir, "man*", "*"))):
        paras = man_paragraphs(path)
        if path in owned and not page_is_test(path):
            train.extend(paras)
        else:			# another package's page, or a held-out page
            test.extend(paras)
    return train, test


class _HTMLText:
    """Paragraph text of an HTML document (html.parser, standard library)."""

    BLOCKS = {"p", "li", "dt", "dd", "td", "th", "h1", "h2", "h3", "h4", "div", "pre", "title",
              "br", "tr", "blockquote"}

    def __init__(self):
        import html.parser
        outer = self

        class P(html.parser.HTMLParser):
            def handle_starttag(self, tag, attrs):
                if tag in outer.BLOCKS:
                    outer.flush()

            def handle_endtag(self, tag):
                if tag in outer.BLOCKS:
                    outer.flush()

            def handle_data(self, data):
                outer.cur.append(data)
        self.parser = P(convert_charrefs=True)
        self.cur, self.paras = [], []

    def flush(self):
        if self.cur:
            self.paras.append("".join(self.cur))
            self.cur = []

    def feed(self, text):
        self.parser.feed(text)
        self.parser.close()
        self.flush()
        return self.paras


def doc_paragraphs(code):
    """Paragraphs of Debian's translated documentation for a language code."""
    import gzip
    if code is None:
        return []
    paths = sorted(glob.glob("/usr/share/debian-reference/*.%s.html" % code))
    paths += sorted(glob.glob("/usr/share/doc/maint-guide-%s/html/*.html" % code))
    out = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            out.extend(_HTMLText().feed(f.read()))
    faq = "/usr/share/doc/debian/FAQ/debian-faq.%s.txt.gz" % code
    if os.path.exists(faq):
        with gzip.open(faq, "rt", encoding="utf-8", errors="replace") as f:
            out.extend(f.read().split("\n\n"))
    return [c for c in (clean(p) for p in out) if c]


def cjk_testdata(lang):
    out = []
    for name in CJK_TESTDATA.get(lang, []):
        for path in sorted(glob.glob("/usr/lib/python3*/test/cjkencodings/%s-utf8.txt" % name)):
            with open(path, encoding="utf-8", errors="replace") as f:
                out.extend(f.read().split("\n"))
    return [c for c in (clean(p) for p in out) if c]


def spread(paras, cap):
    """Up to cap bytes of paragraphs, taken as contiguous runs spread over
    all of them (documents stay in order, so samples read like documents)."""
    total = sum(len(p.encode()) + 1 for p in paras)
    if total <= cap:
        return paras
    runs = 24
    run_cap, stride = cap // runs, len(paras) / runs
    out = []
    for r in range(runs):
        size, i = 0, int(r * stride)
        while i < len(paras) and size + len(paras[i].encode()) + 1 <= run_cap:
            out.append(paras[i])
            size += len(paras[i].encode()) + 1
            i += 1
    return out


def english_prose():
    paras = []
    for path in sorted(glob.glob(os.path.join(MANDIR, "man1", "*.gz")))[:400]:
        raw = [" ".join(p.split()) for p in man_paragraphs_ascii(path)]
        paras.extend(p for p in raw if len(p) > 60 and sum(c.isalpha() for c in p) > 0.6 * len(p))
    return spread(paras, ENGLISH_CAP)


def man_paragraphs_ascii(path):
    import gzip
    try:
        with gzip.open(path, "rt", encoding="ascii") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError, EOFError):
        return []
    paras, cur = [], []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(roff_inline(line))
    return paras + ([" ".join(cur)] if cur else [])


def write_prose(top, lang, paras, train_set):
    d = os.path.join(top, "tests", "eval", "prose")
    os.makedirs(d, exist_ok=True)
    seen, kept = set(), []
    for p in paras:
        if p in train_set or p in seen:
            continue
        seen.add(p)
        kept.append(p)
    kept = spread(kept, PROSE_CAP if lang != "en" else ENGLISH_CAP)
    with open(os.path.join(d, lang + ".txt"), "w", encoding="utf-8") as f:
        for p in kept:
            f.write(p + "\n")
    return sum(len(p.encode()) + 1 for p in kept)


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
        man_train, prose_test = man_pages(lang)
        train += man_train
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
        if lang in PROSE_LANGS and not model_only:
            prose = prose_test + doc_paragraphs(PROSE_LANGS[lang][2]) + cjk_testdata(lang)
            print("%-6s prose %6d bytes (%d man paragraphs trained on)" % (
                lang, write_prose(top, lang, prose, train_set), len(man_train)))
    if not model_only:
        print("en     prose %6d bytes" % write_prose(top, "en", english_prose(), set()))
    write_model(os.path.join(top, "plugin", "detect_model.h"), alpha_models, cjk_models)


if __name__ == "__main__":
    main()
