#!/usr/bin/env python3
"""hostile.py -- hostile input set: generate each case at test time, run the
offline CLI on it, check memory, exit status and the result.

Every case asserts:
  * exit status 0 for both -t and -x, nothing on stderr;
  * peak RSS of the CLI (getrusage of the child, ru_maxrss) below the case's
    stated bound -- the CLI spools past SpoolThreshold (1M, default) into a
    private temp dir given as SpoolDir, so memory must not grow with the input;
  * either the message passed through byte-identical (and `-x` prints a
    reason: a note or a row whose reason is not empty), or a repair that is
    correct: the case's own check decodes the repaired parts under their new
    labels and compares them with the text the case wrote, and a second pass
    over the output changes nothing (idempotence).

Usage: hostile.py --bin PATH/codepage-milter --rss-run PATH/rss-run [--only NAME] [--list]
Writes only under a temp dir ($TMPDIR).  Under sanitizers (CPM_SANITIZED=1)
the memory bounds get an allowance for ASan (x8 + 64 MB) and the 100 MB
inputs shrink to 20 MB, so the set stays a few seconds per case.
"""
import argparse
import base64
import binascii
import codecs
import os
import re
import subprocess
import sys
import tempfile
import time

SANITIZED = os.environ.get('CPM_SANITIZED') == '1'
BIG = 20 * 1024 * 1024 if SANITIZED else 100 * 1024 * 1024

TEXT_1252 = 'Grüße aus Köln, café crème, naïve façade. '.encode('cp1252')
TEXT_1251 = 'Привет, как дела? Съешь же ещё этих мягких французских булок. '.encode('cp1251')


class Fail(Exception):
    pass


RSS_RUN = None	# path of the rss-run helper (set in main)


def run_cli(binary, args, stdin_path, out_path, err_path):
    """Run the CLI under rss-run, return (exit status, peak RSS in KiB, seconds)."""
    stats = out_path + '.rss'
    t0 = time.monotonic()
    with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
        rc = subprocess.call([RSS_RUN, stats, binary] + args, stdout=out, stderr=err)
    secs = time.monotonic() - t0
    with open(stats) as f:
        rss = int(f.read().strip().split('=')[1])
    os.unlink(stats)
    return rc, rss, secs


def parts_of(data):
    """Minimal MIME walk good enough for the checks: yields (headers-bytes,
    body-bytes) of every leaf under multipart/* (one level per boundary; no
    recursion limit problems because it is iterative)."""
    stack = [data]
    while stack:
        msg = stack.pop()
        sep = re.search(rb'\r?\n\r?\n', msg)
        if sep is None:
            yield msg, b''
            continue
        head, body = msg[:sep.start()], msg[sep.end():]
        m = re.search(rb'(?im)^content-type:\s*multipart/[^;]*;(?:.|\r?\n[ \t])*?boundary="?([^";\s]+)"?', head)
        if m is None:
            yield head, body
            continue
        b = re.escape(m.group(1))
        pieces = re.split(rb'(?m)^--' + b + rb'(?:--)?[ \t]*\r?$\n?', body)
        for piece in pieces[1:-1] if len(pieces) > 2 else []:
            stack.append(piece.rstrip(b'\r\n') if piece.endswith(b'\n') else piece)


def charset_of(head):
    m = re.search(rb'(?i)charset\s*=\s*"?([A-Za-z0-9_.:+-]+)', head)
    return m.group(1).decode('ascii').lower() if m else None


def decode_body(head, body):
    cte = re.search(rb'(?im)^content-transfer-encoding:\s*([a-z0-9-]+)', head)
    cte = cte.group(1).lower() if cte else b'7bit'
    if cte == b'base64':
        # lenient, like a mail reader: junk dropped, a partial quantum ignored
        data = re.sub(rb'[^A-Za-z0-9+/]', b'', body)
        data = data[:len(data) - len(data) % 4] if len(data) % 4 == 1 else data
        return base64.b64decode(data + b'=' * (-len(data) % 4))
    if cte == b'quoted-printable':
        return binascii.a2b_qp(body)
    return body


class Case:
    name = ''
    bound_mb = 64	# peak RSS bound for the CLI, MiB
    config = ''		# extra config lines
    modes = ('label', 'transcode')

    def generate(self, f):
        raise NotImplementedError

    def check_repair(self, src, out, mode):
        """Called when the output differs from the input: raise Fail unless
        the repair is correct."""
        raise Fail('message changed, but the case expects it untouched')


# MIME names whose Python codec has another name
PY_CODEC = {'x-mac-cyrillic': 'mac_cyrillic', 'macintosh': 'mac_roman', 'x-mac-roman': 'mac_roman',
            'x-mac-ce': 'mac_latin2', 'x-mac-greek': 'mac_greek', 'x-mac-turkish': 'mac_turkish',
            'windows-874': 'cp874', 'ks_c_5601-1987': 'cp949', 'x-sjis': 'shift_jis'}


def check_text_parts(out, want_text, want_cs_family, min_parts, label, src=None):
    """Every leaf whose header the repair changed must decode under the
    label it now has; at least min_parts of them must carry want_text.
    Parts left untouched (same header block as in src) keep whatever label
    the sender wrote and are not judged here."""
    seen = 0
    untouched = set(h for h, _ in parts_of(src)) if src is not None else set()
    for head, body in parts_of(out):
        if head in untouched:
            continue
        if not re.search(rb'(?im)^content-type:\s*text/', head) and b'Content-Type' in head:
            continue
        raw = decode_body(head, body)
        cs = charset_of(head)
        if cs is None:
            continue
        cs = PY_CODEC.get(cs, cs)
        try:
            codecs.lookup(cs)
        except LookupError:
            continue	# a charset Python has no codec for: cannot verify here
        try:
            text = raw.decode(cs)
        except UnicodeDecodeError as e:
            raise Fail('%s: part labelled %s does not decode: %s' % (label, cs, e))
        if want_text in text:
            seen += 1
    if seen < min_parts:
        raise Fail('%s: only %d parts carry the expected text, want >= %d' % (label, seen, min_parts))


# ---- the cases ---------------------------------------------------------------------

class Nesting10k(Case):
    name = 'nesting-10000'

    def generate(self, f):
        n = 10000
        f.write(b'From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n')
        for i in range(n):
            f.write(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
        f.write(b'Content-Type: text/plain\n\n' + TEXT_1252 + b'\n')
        for i in reversed(range(n)):
            f.write(b'--b%d--\n' % i)

    def check_repair(self, src, out, mode):
        # Past MaxDepth the rest is a leaf: only shallow header blocks may
        # change, the deep text is body of the depth-limit part, untouched.
        tail = src[-200000:]
        if not out.endswith(tail):
            raise Fail('deep structure changed')


class Nesting999RaisedLimit(Case):
    # within a raised MaxDepth the deep text part is reached and repaired:
    # no recursion on the stack per level, memory bounded
    name = 'nesting-999-MaxDepth-1000'
    config = 'MaxDepth 1000\n'

    def generate(self, f):
        n = 999
        f.write(b'From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n')
        for i in range(n):
            f.write(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
        f.write(b'Content-Type: text/plain\n\n' + TEXT_1252 + b'\n')
        for i in reversed(range(n)):
            f.write(b'--b%d--\n' % i)

    def check_repair(self, src, out, mode):
        i = out.rindex(b'Content-Type: text/plain')
        head, _, body = out[i:].partition(b'\n\n')
        cs = charset_of(head)
        text = decode_body(head, body.split(b'\n--b998--')[0]).decode(PY_CODEC.get(cs, cs or 'ascii'))
        if 'Grüße aus Köln' not in text:
            raise Fail('deepest text part not repaired correctly (label %s)' % cs)


class Headers1M(Case):
    name = 'headers-1000000'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: many\n')
        chunk = b''.join(b'X-Filler-%d: some value %d\n' % (i, i) for i in range(1000))
        for _ in range(1000):
            f.write(chunk)
        f.write(b'Content-Type: text/plain\n\n' + TEXT_1252 * 4 + b'\n')

    def check_repair(self, src, out, mode):
        # past MaxHeaders the block is flagged; a repair may only add/replace
        # fields and keep every filler field
        if out.count(b'X-Filler-') != 1000000:
            raise Fail('filler headers lost')
        check_text_parts(out, TEXT_1252.decode('cp1252'), None, 1, self.name)


class Line100M(Case):
    name = 'line-100MB'
    config = 'MaxMessageSize 0\n'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: long line\nContent-Type: text/plain\n\n')
        block = (TEXT_1252 * ((1 << 20) // len(TEXT_1252) + 1))[:1 << 20]
        for _ in range(BIG >> 20):
            f.write(block)
        f.write(b'\n')

    def check_repair(self, src, out, mode):
        # the 8-bit line passes 998 bytes: a repair must label it and move it
        # to a transfer encoding; decoded under the label it is the same text
        body_in = src[src.index(b'\n\n') + 2:]
        i = out.index(b'\n\n')
        head, body = out[:i], out[i + 2:]
        cs = charset_of(head)
        if cs is None:
            raise Fail('repaired but not labelled')
        if max(len(l) for l in body.split(b'\n')) > 998:
            raise Fail('repaired output still has a line over 998 bytes')
        if decode_body(head, body).decode(cs) != body_in.decode('cp1252'):
            raise Fail('decoded body differs from the original text')


class Line100MTooBig(Line100M):
    name = 'line-100MB-over-MaxMessageSize'
    config = 'MaxMessageSize 10M\n'

    def check_repair(self, src, out, mode):
        raise Fail('a message over MaxMessageSize must pass untouched')


class NulBytes(Case):
    name = 'nul-bytes'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: nul \x00 in \xe9 header\nX-N: \x00\x00\n'
                b'Content-Type: text/plain\n\n' + (TEXT_1252 + b'\x00\n') * 50)

    def check_repair(self, src, out, mode):
        # a body with NUL bytes is not text: left alone; the 8-bit Subject
        # may be encoded, but no byte (NUL included) may get lost
        if out.count(b'\x00') != src.count(b'\x00'):
            raise Fail('NUL bytes lost')
        i = src.index(b'\n\n')
        if not out.endswith(src[i:]):
            raise Fail('body with NUL bytes changed')


class BareCR(Case):
    name = 'bare-cr'

    def generate(self, f):
        f.write(b'From: a@example.org\r\nSubject: bare\rcr \xe9\r\nContent-Type: text/plain\r\n\r\n' +
                (TEXT_1252 + b'\r') * 20 + b'\r\nend\r\n')

    def check_repair(self, src, out, mode):
        if mode == 'label' and out.count(b'\r') < src.count(b'\r'):
            raise Fail('CR bytes lost')
        check_text_parts(out, 'Grüße', None, 1, self.name)


class Boundaries(Case):
    name = 'missing-and-duplicated-boundaries'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: boundaries\nMIME-Version: 1.0\n'
                b'Content-Type: multipart/mixed; boundary="dup"\n\n'
                b'--dup\nContent-Type: text/plain\n\n' + TEXT_1252 + b'\n'
                # nested multipart reusing the parent's boundary
                b'--dup\nContent-Type: multipart/alternative; boundary="dup"\n\n'
                b'--dup\nContent-Type: text/plain\n\n' + TEXT_1252 + b'\n'
                # a multipart without boundary parameter
                b'--dup\nContent-Type: multipart/related\n\n' + TEXT_1252 + b'\n'
                # a multipart whose delimiters never come
                b'--dup\nContent-Type: multipart/mixed; boundary="never"\n\n' + TEXT_1252 + b'\n'
                b'--dup\nContent-Type: text/plain\n\n' + TEXT_1252 + b'\n')
        # no close delimiter at all

    def check_repair(self, src, out, mode):
        check_text_parts(out, 'Grüße', None, 1, self.name)


class BoundaryInBase64(Case):
    name = 'boundary-inside-base64'

    def generate(self, f):
        # decoded text holds lines that look like the outer delimiters: a
        # transcode to 8bit/QP must not turn them into real delimiters
        inner = (TEXT_1252 + b'\r\n--outer\r\n' + TEXT_1252 + b'\r\n--outer--\r\n') * 10
        enc = base64.encodebytes(inner)
        half = len(enc) // 2
        f.write(b'From: a@example.org\nSubject: b64\nMIME-Version: 1.0\n'
                b'Content-Type: multipart/mixed; boundary="outer"\n\n'
                b'--outer\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n' + enc +
                b'--outer\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n' +
                enc[:half] + b'--outer\n' + enc[half:] +	# a delimiter cutting base64
                b'--outer--\n')

    def check_repair(self, src, out, mode):
        n_in = len(list(parts_of(src)))
        n_out = len(list(parts_of(out)))
        if n_in != n_out:
            raise Fail('part count changed by the repair: %d -> %d (a delimiter appeared)' % (n_in, n_out))
        check_text_parts(out, 'Grüße', None, 1, self.name)


class Parts10k(Case):
    name = 'parts-10000'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: parts\nMIME-Version: 1.0\n'
                b'Content-Type: multipart/mixed; boundary="p"\n\n')
        for i in range(10000):
            f.write(b'--p\nContent-Type: text/plain\n\n' + TEXT_1252 + b'%d\n' % i)
        f.write(b'--p--\n')

    def check_repair(self, src, out, mode):
        # parts past MaxParts are body: the repaired ones must be right
        check_text_parts(out, 'Grüße', None, 1, self.name)
        if out.count('Grüße'.encode('cp1252')) + out.count('Grüße'.encode('utf-8')) < 10000:
            raise Fail('text lost')


class Parts10kRaisedLimit(Parts10k):
    # the same 10,000 parts with the limits raised so that the scanner keeps
    # them all and every part is repaired.  MaxHeaders must go up too: the
    # scanner also caps the header fields of the whole message (10,003 here)
    # by it.  Memory is then about 6.8 KB per part: 68 MB measured, bound 96.
    name = 'parts-10000-all-repaired'
    config = 'MaxParts 10001\nMaxHeaders 100000\n'
    bound_mb = 96

    def check_repair(self, src, out, mode):
        check_text_parts(out, 'Grüße', None, 10000, self.name, src)


class EncodedWord1M(Case):
    name = 'encoded-word-1MB'

    def generate(self, f):
        payload = base64.b64encode(('é' * 400000).encode('utf-8'))[:1 << 20]
        f.write(b'From: a@example.org\nSubject: =?utf-8?B?' + payload + b'?=\n'
                b'X-Broken: =?utf-8?Q?' + b'=C3' * 350000 + b'\n'
                b'Content-Type: text/plain; charset=utf-8\n\nplain body \xc3\xa9\n')


class Rfc2231Invalid(Case):
    name = 'rfc2231-invalid-continuations'

    def generate(self, f):
        f.write(b'From: a@example.org\nSubject: params\nMIME-Version: 1.0\n'
                b'Content-Type: multipart/mixed; boundary="q"\n\n'
                b"--q\nContent-Type: text/plain; name*0*=utf-8''a%C3; name*2*=%A9b; name*1=x\n\n" +
                TEXT_1252 + b'\n'
                b"--q\nContent-Type: text/plain; charset*0*=us-ascii''win; charset*0=dows-1252\n\n" +
                TEXT_1252 + b'\n'
                b"--q\nContent-Disposition: attachment; filename*=x-bogus'en'%ZZ%E9; filename*=utf-8''y\n"
                b"Content-Type: text/plain; name*99999999999999999999*=a\n\n" + TEXT_1252 + b'\n'
                b"--q\nContent-Type: text/plain; " + b'; '.join(b'p*%d*=%%41' % i for i in range(3000)) +
                b'\n\n' + TEXT_1252 + b'\n--q--\n')

    def check_repair(self, src, out, mode):
        check_text_parts(out, 'Grüße', None, 1, self.name)


class InvalidCharsets(Case):
    name = 'invalid-charsets-everywhere'

    def generate(self, f):
        bad = [b'x-garbage', b'', b'"\xff\xfe"', b'utf-8\x00', b'a' * 300, b'"windows-1252', b'unknown-8bit',
               b'=?utf-8?q?x?=', b'iso-8859-99', b'utf-7', b'utf-16', b'cp65001']
        f.write(b'From: =?x-nope?q?J=FCrgen?= <a@example.org>\nSubject: =?\xff?B?AAAA?= =?utf-16?B?2D3eAA==?= \xe9\n'
                b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="c"; charset=bogus\n\n')
        for b in bad:
            f.write(b'--c\nContent-Type: text/plain; charset=' + b + b'\n\n' + TEXT_1252 + b'\n')
        f.write(b'--c\nContent-Type: text/html\n\n<meta charset="x-\xff\xfe"><p>' + TEXT_1251 + b'</p>\n--c--\n')

    def check_repair(self, src, out, mode):
        # labels a reader cannot use may be replaced; what we write must decode
        check_text_parts(out, 'Grüße', None, 1, self.name, src)


# Bugs found by this set and not fixed yet: (case, mode) -> what is wrong.
# Such a run prints XFAIL instead of failing; when it starts passing it
# prints XPASS and fails, so the fixer removes the entry (the case then
# guards the fix).
KNOWN_BUGS = {
}

CASES = [Nesting10k(), Nesting999RaisedLimit(), Headers1M(), Line100M(), Line100MTooBig(), NulBytes(), BareCR(), Boundaries(),
         BoundaryInBase64(), Parts10k(), Parts10kRaisedLimit(), EncodedWord1M(), Rfc2231Invalid(), InvalidCharsets()]


def run_case(binary, case, tmp, mode):
    spool = os.path.join(tmp, 'spool')
    os.makedirs(spool, mode=0o700, exist_ok=True)
    conf = os.path.join(tmp, 'hostile.conf')
    with open(conf, 'w') as f:
        f.write('Mode %s\nSpoolDir %s\nSyslog no\n%s' % (mode, spool, case.config))
    src_path = os.path.join(tmp, case.name + '.eml')
    if not os.path.exists(src_path):
        with open(src_path, 'wb') as f:
            case.generate(f)
    out_path = os.path.join(tmp, 'out.eml')
    err_path = os.path.join(tmp, 'err.txt')
    size = os.path.getsize(src_path)
    # ASan: shadow memory, redzones and its 256 MB quarantine of freed blocks
    bound = case.bound_mb * 8 + 64 if SANITIZED else case.bound_mb
    rc, rss, secs = run_cli(binary, ['-c', conf, '-t', src_path], src_path, out_path, err_path)
    err = open(err_path, 'rb').read()
    if rc != 0:
        raise Fail('-t exited %d: %s' % (rc, err[:500]))
    if err:
        raise Fail('-t wrote to stderr: %s' % err[:500])
    if rss > bound * 1024:
        raise Fail('-t peak RSS %.1f MB > bound %d MB' % (rss / 1024, bound))
    if os.listdir(spool):
        raise Fail('spool files left behind: %s' % os.listdir(spool))
    rc2, rss2, secs2 = run_cli(binary, ['-c', conf, '-x', src_path], src_path, out_path + '.x', err_path)
    if rc2 != 0:
        raise Fail('-x exited %d: %s' % (rc2, open(err_path, 'rb').read()[:500]))
    if rss2 > bound * 1024:
        raise Fail('-x peak RSS %.1f MB > bound %d MB' % (rss2 / 1024, bound))
    explain = open(out_path + '.x', 'rb').read()
    same = size == os.path.getsize(out_path) and filecmp_same(src_path, out_path)
    if same:
        outcome = 'untouched'
        if not explain.strip():
            raise Fail('passed untouched but -x gives no reason')
    else:
        outcome = 'repaired'
        src = open(src_path, 'rb').read()
        out = open(out_path, 'rb').read()
        case.check_repair(src, out, mode)
        del src, out
        # idempotence: a second pass changes nothing
        out2 = out_path + '.2'
        rc3, _, _ = run_cli(binary, ['-c', conf, '-t', out_path], out_path, out2, err_path)
        if rc3 != 0 or not filecmp_same(out_path, out2):
            raise Fail('second pass over the repaired output changed it again')
        os.unlink(out2)
    os.unlink(out_path)
    os.unlink(out_path + '.x')
    first_note = b''
    for line in explain.splitlines():
        if line.startswith(b'note:'):
            first_note = line[:100]
            break
    return '%-34s %-9s %-8s %7.1f MB in  peak RSS %5.1f MB (-x %5.1f, bound %d)  %5.2f s  %s' % (
        case.name, mode, outcome, size / 1048576, rss / 1024, rss2 / 1024, bound, secs,
        first_note.decode('ascii', 'replace'))


def filecmp_same(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', default=os.environ.get('CPM_BIN', './codepage-milter'))
    ap.add_argument('--rss-run', default=os.environ.get('RSS_RUN', './tests/hostile/rss-run'))
    ap.add_argument('--only')
    ap.add_argument('--list', action='store_true')
    args = ap.parse_args()
    global RSS_RUN
    RSS_RUN = args.rss_run
    if args.list:
        for c in CASES:
            print(c.name)
        return 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix='cpm-hostile.') as tmp:
        for case in CASES:
            if args.only and case.name != args.only:
                continue
            for mode in case.modes:
                known = KNOWN_BUGS.get((case.name, mode))
                try:
                    line = run_case(args.bin, case, tmp, mode)
                    if known:
                        failed += 1
                        print('XPASS %s (known bug fixed? remove it from KNOWN_BUGS: %s)' % (line, known),
                              flush=True)
                    else:
                        print('ok    ' + line, flush=True)
                except Fail as e:
                    if known:
                        print('XFAIL %-34s %-9s %s [known bug: %s]' % (case.name, mode, e, known), flush=True)
                    else:
                        failed += 1
                        print('FAIL  %-34s %-9s %s' % (case.name, mode, e), flush=True)
            p = os.path.join(tmp, case.name + '.eml')
            if os.path.exists(p):
                os.unlink(p)
    print('%d failed' % failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
