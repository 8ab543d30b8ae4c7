#!/usr/bin/env python3
"""mta_test.py -- codepage-milter attached to a real Postfix or Sendmail on loopback.

Usage: mta_test.py --mta postfix|sendmail --bin BUILD/codepage-milter --srcdir SRCDIR
                   [--keep] [SCENARIO...]

Every message of the corpus (tests/mta/corpus, plus tests/golden/cases/*/
input.eml when present) goes through the MTA over SMTP with the daemon
attached; each delivered message must equal what `codepage-milter -t` makes
of the same input, apart from the one trace header (Received:) the MTA
prepends and the line endings (delivered files are LF).  Then the failure
paths: the daemon stopped under milter_default_action accept (delivered
unchanged) and tempfail (4xx, the client keeps the original; re-submitted
once the daemon is back, it arrives repaired), and the daemon SIGKILLed in
the middle of a submission (delivered, unchanged or repaired, or 4xx: never
lost).  Postfix also gets the non_smtpd_milters path (its sendmail command).
Sendmail has no such path: it calls milters only from its SMTP server, so
`sendmail -bm` with the MTA's own configuration delivers without asking the
milter (asserted: delivered unchanged), and command-line mail reaches the
milter through the MSP (`sendmail -t` with a submit.cf, relaying over SMTP to
the daemon), which is tested like Postfix's local path.  A legacy Exchange
message (winmail.dat saying code page 1251, an unlabelled body, a raw
Subject) must arrive labelled and encoded from the TNEF evidence.

The MTAs run from tests/mta/postfix-run.sh and sendmail-run.sh: private
instances in temp directories, in a mount+UTS namespace whose resolver only
reaches loopback (mta-sandbox.sh), never the system's configuration.
Ends with "N passed, M failed".
"""
import argparse
import base64
import email.header
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def strip_trace(delivered):
    """Remove the first header field if it is the MTA's Received: (with its
    continuation lines)."""
    if not delivered.lower().startswith(b'received:'):
        return delivered, False
    pos = delivered.find(b'\n') + 1
    while delivered[pos:pos + 1] in (b' ', b'\t'):
        pos = delivered.find(b'\n', pos) + 1
    return delivered[pos:], True


# Sendmail's MAXMIMENESTING: at delivery it strips the 8th bit from (and
# mangles the boundaries of) MIME nested deeper than this, with or without a
# milter, so such a message cannot equal the CLI's repair there.
SENDMAIL_MIME_NESTING = 20


def multipart_depth(raw):
    """Upper bound of a message's MIME nesting: its multipart Content-Types."""
    return len(re.findall(rb'(?im)^content-type:\s*multipart/', raw))


def first_difference(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    lo = max(0, i - 60)
    return 'first difference at byte %d:\n  got:  %r\n  want: %r' % (i, a[lo:i + 80], b[lo:i + 80])


class Suite:
    def __init__(self, a):
        self.mta = a.mta
        self.bin = os.path.abspath(a.bin)
        self.srcdir = os.path.abspath(a.srcdir)
        self.keep = a.keep
        self.work = mtlib.tempdir('cpm-%s.' % a.mta)
        self.r = mtlib.Results(a.mta)
        base = 2700 if a.mta == 'postfix' else 2800
        self.smtp_port = base + os.getpid() % 90
        self.runner = os.path.join(HERE, '%s-run.sh' % a.mta)
        self.seen = None          # baseline: what the MTA shows a milter
        self.refused = {}         # baseline: messages the MTA itself refuses

    # ---- helpers -------------------------------------------------------------

    def corpus_files(self, golden=True):
        files = sorted(glob.glob(os.path.join(self.srcdir, 'tests/mta/corpus/*.eml')))
        if golden:
            files += sorted(glob.glob(os.path.join(self.srcdir, 'tests/golden/cases/*/input.eml')))
        return files

    def message_dir(self, name, files):
        """A directory with one file per message, named uniquely."""
        d = os.path.join(self.work, name + '-msgs')
        os.makedirs(d, exist_ok=True)
        for f in files:
            rel = os.path.relpath(f, self.srcdir)
            if rel.startswith('tests/golden/cases/'):
                fn = 'golden-' + rel.split('/')[3] + '.eml'
            else:
                fn = os.path.basename(f)
            shutil.copyfile(f, os.path.join(d, fn))
        return d

    def daemon(self, name, conf_text, inet=False):
        sock = 'inet:%d@127.0.0.1' % mtlib.free_port() if inet else None
        pid = os.path.join(self.work, name + '.pid')
        return mtlib.Daemon(self.bin, self.work, conf_text, sock=sock, name=name, extra=['-P', pid])

    def run_mta(self, name, sock, msgdir, action, env=None):
        out = os.path.join(self.work, name + '-out')
        e = dict(os.environ)
        e.update(env or {})
        e['HARNESS_QUIET'] = '1'
        e['HARNESS_WAIT'] = '60'
        e['PF_PORT' if self.mta == 'postfix' else 'SM_PORT'] = str(self.smtp_port)
        p = subprocess.run([self.runner, sock, msgdir, out, '--default-action', action],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e, timeout=600)
        text = p.stdout.decode('utf-8', 'replace')
        print('# %s: %s' % (name, ' | '.join(l for l in text.splitlines() if l.startswith(('timing', '  summary')))))
        report = {}
        rp = os.path.join(out, 'report.json')
        if os.path.exists(rp):
            for m in json.load(open(rp))['messages']:
                report[m['message']] = m
        return p.returncode, text, out, report

    def baseline(self, msgdir):
        """Deliver the messages with no milter: what the MTA itself makes of
        each input (Postfix turns a bare CR into a space, for one).  Returns
        {message name: the bytes a milter is shown, CRLF}."""
        rc, text, out, report = self.run_mta('baseline', 'none', msgdir, 'accept')
        seen = {}
        self.refused = {fn: (m.get('status'), m.get('reply')) for fn, m in report.items()
                        if m.get('status') != 'delivered'}
        for fn in os.listdir(msgdir):
            p = os.path.join(out, 'delivered', fn)
            if os.path.exists(p):
                got, had = strip_trace(open(p, 'rb').read())
                if had:
                    seen[fn] = mtlib.to_crlf(got)
        altered = sorted(fn for fn in seen if seen[fn] != mtlib.to_crlf(open(os.path.join(msgdir, fn), 'rb').read()))
        print('# baseline: %d delivered, %d altered by %s itself: %s'
              % (len(seen), len(altered), self.mta, ' '.join(altered)))
        print('# baseline: refused by %s itself (not a milter matter): %s'
              % (self.mta, ', '.join('%s (%s)' % (fn, v[1]) for fn, v in sorted(self.refused.items())) or 'none'))
        self.r.check(len(seen) + len(self.refused) == len(os.listdir(msgdir)),
                     'baseline: every message delivered or refused by the MTA itself', text)
        return seen

    def expected(self, conf, path, seen=None):
        """The CLI's repair of what the MTA shows the milter, LF."""
        raw = seen.get(os.path.basename(path)) if seen else None
        if raw is None:
            raw = mtlib.to_crlf(open(path, 'rb').read())
        rc, out, err = mtlib.run_cli(self.bin, conf, raw)
        if rc != 0:
            raise RuntimeError('codepage-milter -t failed (%d): %s' % (rc, err.decode('utf-8', 'replace')))
        return mtlib.to_lf(out)

    def compare_delivered(self, name, msgdir, out, report, want_fn, seen=None, milter_on=True, conf=None):
        """Each message delivered once, equal to want_fn(path) apart from trace."""
        changed = 0
        for fn in sorted(os.listdir(msgdir)):
            path = os.path.join(msgdir, fn)
            m = report.get(fn)
            if fn in self.refused:
                # the MTA refuses it without a milter too: same answer expected
                self.r.check(m is not None and m['status'] == self.refused[fn][0],
                             '%s: %s refused by the MTA as without milter (%s)' % (name, fn, self.refused[fn][0]),
                             json.dumps(m))
                continue
            if not self.r.check(m is not None and m['status'] == 'delivered',
                                '%s: %s delivered' % (name, fn), json.dumps(m)):
                continue
            got = open(os.path.join(out, 'delivered', fn), 'rb').read()
            got, had_trace = strip_trace(got)
            if self.mta == 'sendmail' and multipart_depth(got) > SENDMAIL_MIME_NESTING:
                # repaired by the milter (its audit header) before Sendmail's
                # own delivery damage: the most that can be checked here
                hdr = got.split(b'\n\n', 1)[0]
                repaired = milter_on and \
                    self.expected(None, path) != mtlib.to_lf(mtlib.to_crlf(open(path, 'rb').read()))
                changed += repaired
                self.r.check(had_trace and (b'\nX-Codepage-Milter:' in hdr) == repaired,
                             '%s: %s nested deeper than Sendmail delivers intact (%d): audit header %s'
                             % (name, fn, SENDMAIL_MIME_NESTING, 'present' if repaired else 'absent'))
                continue
            want = want_fn(path)
            orig = mtlib.to_lf(mtlib.to_crlf(open(path, 'rb').read()))
            if seen and fn in seen:
                orig = mtlib.to_lf(seen[fn])
            if self.mta == 'sendmail' and milter_on and conf is not None and got != want and \
                    seen and fn in seen and mtlib.to_lf(seen[fn]) != mtlib.to_lf(mtlib.to_crlf(open(path, 'rb').read())):
                # Sendmail alters this message AFTER the milter (it rewrote
                # the raw ISO-2022 From: of the no-milter baseline): the
                # milter saw, and repaired, what the client sent
                want = self.expected(conf, path)
            changed += want != orig
            self.r.check(had_trace and got == want, '%s: %s equals the expected repair%s'
                         % (name, fn, '' if want != orig else ' (unchanged)'),
                         first_difference(got, want) if had_trace else 'no Received: trace header')
        return changed

    def stop(self, d, name):
        rc = d.stop()
        log = d.read_log()
        self.r.check(rc == 0, '%s: daemon exits 0 on SIGTERM (got %s)' % (name, rc), log)
        trouble = mtlib.sanitizer_trouble(log)
        self.r.check(trouble is None, '%s: no sanitizer report' % name, trouble)
        return log

    # ---- scenarios -------------------------------------------------------------

    def check_log_keys(self, name, log, report, inet):
        """What keys each repair log line: the MTA's queue id from {i} on a
        unix socket; over TCP (no macros asked for: each costs Sendmail a
        delayed-ACK stall) the id in Postfix's own Received: field, and for
        Sendmail, which passes no Received: field of its own, the
        Message-ID."""
        logged = set(re.findall(r'(\S+): parts=', log))
        if self.mta == 'sendmail' and inet:
            odd = {k for k in logged if not re.match(r'^<[^<>@]+@[^<>@]+>$', k)}
            what = 'Message-IDs'
        else:
            odd = logged - {r.get('queue_id') for r in report.values() if isinstance(r, dict)}
            what = 'the MTA\'s queue ids'
        self.r.check(logged and not odd, '%s: the repair log lines carry %s (%s)'
                     % (name, what, ', '.join(sorted(odd)[:5]) or 'all'), log)

    def corpus_through_mta(self, mode, inet, submit='smtp'):
        name = '%s-%s-%s' % (submit, 'inet' if inet else 'unix', mode)
        # Postfix's smtpd runs as user postfix: the unix socket must be connectable
        d = self.daemon(name, 'Mode %s\nUMask 000\n' % mode, inet=inet).start()
        files = self.corpus_files(golden=(submit == 'smtp'))
        msgdir = self.message_dir(name, files)
        if submit == 'smtp' and self.seen is None:
            self.seen = self.baseline(msgdir)
        seen = self.seen if submit == 'smtp' else {}
        env = {'HARNESS_SUBMIT': submit} if submit != 'smtp' else {}
        rc, text, out, report = self.run_mta(name, d.sock, msgdir, 'tempfail', env)
        self.r.check(rc == 0 or (submit == 'smtp' and self.refused),
                     '%s: every message delivered (harness exit %d)' % (name, rc), text)
        changed = self.compare_delivered(name, msgdir, out, report, lambda p: self.expected(d.conf, p, seen), seen,
                                         conf=d.conf)
        self.r.check(changed > 0, '%s: the corpus contains messages the milter repairs (%d)' % (name, changed))
        log = self.stop(d, name)
        acted = len(re.findall(r'^.*: parts=', log, re.M))
        self.r.check(acted == changed, '%s: one log line per repaired message (%d lines, %d messages)'
                     % (name, acted, changed), log)
        self.check_log_keys(name, log, report, inet)

    def sendmail_bm(self):
        """sendmail -bm with the MTA's .cf and the milter attached: Sendmail
        does not consult milters outside its SMTP server, so every message is
        delivered as -bm delivers it with no milter configured (Sendmail
        itself unfolds address fields there) and the daemon logs no repair."""
        name = 'local-bm-unix-label'
        msgdir = self.message_dir(name, self.corpus_files(golden=False))
        env = {'HARNESS_SUBMIT': 'local'}
        rc, text, out, report = self.run_mta(name + '-baseline', 'none', msgdir, 'accept', env)
        plain = {}
        for fn in os.listdir(msgdir):
            p = os.path.join(out, 'delivered', fn)
            if os.path.exists(p):
                plain[fn] = strip_trace(open(p, 'rb').read())[0]
        self.r.check(rc == 0 and len(plain) == len(os.listdir(msgdir)),
                     '%s: baseline without milter: every message delivered' % name, text)
        d = self.daemon(name, 'Mode label\nUMask 000\n').start()
        rc, text, out, report = self.run_mta(name, d.sock, msgdir, 'tempfail', env)
        self.r.check(rc == 0, '%s: every message delivered (harness exit %d)' % (name, rc), text)
        self.compare_delivered(name, msgdir, out, report, lambda p: plain.get(os.path.basename(p)))
        log = self.stop(d, name)
        self.r.check(not re.search(r'^.*: parts=', log, re.M),
                     '%s: Sendmail did not ask the milter (no repair logged)' % name, log)

    def msp_rest(self, delivered):
        """(the MSP's Received: field, the rest) of what the daemon delivered
        from the MSP, after the daemon's own trace header."""
        after, had = strip_trace(delivered)
        rest, had_msp = strip_trace(after)
        return (after[:len(after) - len(rest)] if had and had_msp else None), rest

    def sendmail_msp(self, mode='label'):
        """sendmail -t through the MSP (submit.cf) to the daemon with the
        milter: delivered equals the CLI's repair of what the MSP relayed
        (the MSP's Received: field plus the message as the MSP, with no
        milter anywhere, passes it on: a baseline run)."""
        name = 'msp-unix-%s' % mode
        files = self.corpus_files(golden=False)
        msgdir = self.message_dir(name, files)
        env = {'HARNESS_SUBMIT': 'msp'}
        rc, text, out, report = self.run_mta(name + '-baseline', 'none', msgdir, 'accept', env)
        self.r.check(rc == 0, '%s: baseline without milter: every message delivered' % name, text)
        relayed = {}
        for fn in os.listdir(msgdir):
            p = os.path.join(out, 'delivered', fn)
            if os.path.exists(p):
                relayed[fn] = self.msp_rest(open(p, 'rb').read())[1]
        d = self.daemon(name, 'Mode %s\nUMask 000\n' % mode).start()
        rc, text, out, report = self.run_mta(name, d.sock, msgdir, 'tempfail', env)
        self.r.check(rc == 0, '%s: every message delivered (harness exit %d)' % (name, rc), text)
        changed = 0
        for fn in sorted(os.listdir(msgdir)):
            p = os.path.join(out, 'delivered', fn)
            if not self.r.check(os.path.exists(p) and fn in relayed, '%s: %s delivered' % (name, fn),
                                json.dumps(report.get(fn))):
                continue
            got = open(p, 'rb').read()
            msp_field, _ = self.msp_rest(got)
            if not self.r.check(msp_field is not None, '%s: %s has the daemon\'s and the MSP\'s trace' % (name, fn)):
                continue
            seen = mtlib.to_crlf(msp_field + relayed[fn])
            want = self.expected(d.conf, fn, {fn: seen})
            changed += want != mtlib.to_lf(seen)
            after, _ = strip_trace(got)
            self.r.check(after == want, '%s: %s equals the expected repair' % (name, fn), first_difference(after, want))
        self.r.check(changed > 0, '%s: the corpus contains messages the milter repairs (%d)' % (name, changed))
        log = self.stop(d, name)
        acted = len(re.findall(r'^.*: parts=', log, re.M))
        self.r.check(acted == changed, '%s: one log line per repaired message (%d lines, %d messages)'
                     % (name, acted, changed), log)
        self.check_log_keys(name, log, report, False)

    def milter_down(self):
        """Daemon not running: accept delivers unchanged; tempfail answers 4xx
        and the client keeps the message, which arrives repaired once the
        daemon is back."""
        files = self.corpus_files(golden=False)
        if self.seen is None:
            self.seen = self.baseline(self.message_dir('all', self.corpus_files()))
        for action in ('accept', 'tempfail'):
            name = 'down-%s' % action
            sock = 'unix:%s' % os.path.join(self.work, name + '.sock')   # nobody listens
            msgdir = self.message_dir(name, files)
            rc, text, out, report = self.run_mta(name, sock, msgdir, action)
            if action == 'accept':
                self.r.check(rc == 0, '%s: every message delivered' % name, text)
                # unchanged: as the MTA delivers it with no milter at all
                self.compare_delivered(name, msgdir, out, report,
                                       lambda p: mtlib.to_lf(self.seen[os.path.basename(p)]), self.seen,
                                       milter_on=False)
                continue
            for fn in sorted(os.listdir(msgdir)):
                m = report.get(fn) or {}
                kept = os.path.join(out, 'deferred', fn)
                self.r.check(m.get('status') == 'tempfail' and (m.get('reply') or '').startswith('4')
                             and os.path.exists(kept)
                             and open(kept, 'rb').read() == open(os.path.join(msgdir, fn), 'rb').read(),
                             '%s: %s answered 4xx and kept by the client' % (name, fn), json.dumps(m))
            # the daemon is back: the client retries what it kept
            d = self.daemon(name, 'UMask 000\n').start()
            retry = os.path.join(out, 'deferred')
            rc, text, out2, report2 = self.run_mta(name + '-retry', d.sock, retry, action)
            self.r.check(rc == 0, '%s: retried messages delivered' % name, text)
            self.compare_delivered(name + '-retry', retry, out2, report2,
                                   lambda p: self.expected(d.conf, p, self.seen), self.seen)
            self.stop(d, name)

    def killed_mid_message(self):
        """SIGKILL of the daemon half way through DATA: the message is either
        delivered (unchanged or repaired) or answered 4xx -- never lost."""
        path = os.path.join(self.srcdir, 'tests/mta/corpus/11-large-unlabelled.eml')
        for action in ('tempfail', 'accept'):
            name = 'killed-%s' % action
            d = self.daemon(name, 'UMask 000\n').start()
            msgdir = self.message_dir(name, [path])
            fn = os.listdir(msgdir)[0]
            env = {'HARNESS_SUBMIT': 'slow-kill', 'HARNESS_KILL_PIDFILE': d.extra[1]}
            rc, text, out, report = self.run_mta(name, d.sock, msgdir, action, env)
            m = report.get(fn) or {}
            status = m.get('status')
            orig = mtlib.to_lf(mtlib.to_crlf(open(path, 'rb').read()))
            if status == 'delivered':
                got, _ = strip_trace(open(os.path.join(out, 'delivered', fn), 'rb').read())
                ok = got in (orig, self.expected(d.conf, path, self.seen))
                detail = first_difference(got, orig)
            else:
                kept = os.path.join(out, 'deferred', fn)
                ok = status == 'tempfail' and os.path.exists(kept)
                detail = json.dumps(m)
            self.r.check(ok, '%s: message %s, not lost' % (name, status), detail)
            if action == 'tempfail':
                self.r.check(status == 'tempfail', '%s: milter_default_action tempfail answers 4xx' % name,
                             json.dumps(m))
            else:
                self.r.check(status == 'delivered', '%s: milter_default_action accept delivers' % name,
                             json.dumps(m))
            rc = d.stop()
            self.r.check(rc == -9, '%s: the daemon was killed by SIGKILL (%s)' % (name, rc))

    def exchange_message(self):
        """A legacy Exchange message: an unlabelled 8-bit text/plain part of a
        dozen bytes, a raw 8-bit Subject, and the winmail.dat whose
        attOemCodepage and PR_INTERNET_CPID say 1251 (tests/tnef/tnefwriter.py)."""
        sys.path.insert(0, os.path.join(self.srcdir, 'tests', 'tnef'))
        import tnefwriter
        body, subject = 'Жду ответа.'.encode('cp1251') + b'\r\n', 'Счёт'.encode('cp1251')
        tnef = tnefwriter.message(oem=1251, cpid=1251, subject=subject, body=body)
        b64 = base64.encodebytes(tnef).replace(b'\n', b'\r\n')
        bnd = b'----_=_NextPart_000_01BF1234.56789ABC'
        msg = (b'From: Exchange User <user@exchange.example>\r\nTo: bob@example.net\r\n'
               b'Subject: ' + subject + b'\r\nDate: Tue, 14 May 2024 09:30:00 +0200\r\n'
               b'Message-ID: <tnef-1@exchange.example>\r\nX-MS-Has-Attach: yes\r\n'
               b'X-MS-TNEF-Correlator: <00000000@exchange.example>\r\n'
               b'X-Mailer: Internet Mail Service (5.0.1457.7)\r\nMIME-Version: 1.0\r\n'
               b'Content-Type: multipart/mixed; boundary="' + bnd + b'"\r\n\r\n'
               b'This message is in MIME format.\r\n\r\n--' + bnd + b'\r\n'
               b'Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' + body +
               b'\r\n--' + bnd + b'\r\nContent-Type: application/ms-tnef\r\n'
               b'Content-Disposition: attachment; filename="winmail.dat"\r\n'
               b'Content-Transfer-Encoding: base64\r\n\r\n' + b64 + b'\r\n--' + bnd + b'--\r\n')
        return msg, b64

    def exchange_tnef(self):
        """Through the real MTA: the Exchange message arrives labelled
        windows-1251 and with its Subject RFC 2047 encoded in windows-1251,
        decided from the TNEF evidence (the CLI's -x of the same input names
        it), and the winmail.dat part is byte-identical."""
        name = 'exchange-tnef'
        msg, b64 = self.exchange_message()
        msgdir = os.path.join(self.work, name + '-msgs')
        os.makedirs(msgdir, exist_ok=True)
        with open(os.path.join(msgdir, 'exchange.eml'), 'wb') as f:
            f.write(msg)
        d = self.daemon(name, 'UMask 000\n').start()
        rc, text, out, report = self.run_mta(name, d.sock, msgdir, 'tempfail')
        self.stop(d, name)
        path = os.path.join(out, 'delivered', 'exchange.eml')
        if not self.r.check(rc == 0 and os.path.exists(path), '%s: delivered' % name, text):
            return
        got, _ = strip_trace(open(path, 'rb').read())
        head, _, rest = got.partition(b'\n\n')
        subj = re.search(rb'^Subject: (.*(?:\n[ \t].*)*)', head, re.M | re.I)
        words = email.header.decode_header(subj.group(1).decode('ascii')) if subj else []
        self.r.check(subj is not None and words and words[0][1] == 'windows-1251'
                     and words[0][0].decode('cp1251') == 'Счёт',
                     '%s: Subject encoded as windows-1251 (%s)' % (name, subj.group(1) if subj else None))
        self.r.check(b'Content-Type: text/plain; charset=windows-1251\n' in rest and
                     'Жду ответа.'.encode('cp1251') in rest,
                     '%s: text part labelled windows-1251, its bytes untouched' % name, rest[:400])
        self.r.check(mtlib.to_lf(b64) in rest, '%s: winmail.dat byte-identical' % name)
        rc, why, err = mtlib.run_cli(self.bin, d.conf, msg, '-x')
        self.r.check(rc == 0 and re.search(rb'^1\.1 .*TNEF (attOemCodepage|PR_INTERNET_CPID) 1251', why, re.M),
                     '%s: -x gives the TNEF code page as the reason' % name, why.decode('utf-8', 'replace'))

    def run(self, only=None):
        scenarios = [
            ('exchange-tnef', self.exchange_tnef),
            ('smtp-unix-label', lambda: self.corpus_through_mta('label', False)),
            ('smtp-inet-transcode', lambda: self.corpus_through_mta('transcode', True)),
            ('down', self.milter_down),
            ('killed', self.killed_mid_message),
        ]
        if self.mta == 'postfix':
            scenarios.insert(2, ('local-unix-label', lambda: self.corpus_through_mta('label', False, 'local')))
        else:
            scenarios.insert(2, ('local-bm', self.sendmail_bm))
            scenarios.insert(3, ('msp-unix-label', self.sendmail_msp))
            scenarios.insert(4, ('msp-unix-transcode', lambda: self.sendmail_msp('transcode')))
        for name, fn in scenarios:
            if only and name not in only:
                continue
            try:
                fn()
            except Exception as ex:
                self.r.check(False, '%s: scenario ran' % name, repr(ex))
        rc = self.r.finish()
        if rc == 0 and not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print('# work directory kept: %s' % self.work)
        return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mta', choices=['postfix', 'sendmail'], required=True)
    ap.add_argument('--bin', required=True)
    ap.add_argument('--srcdir', required=True)
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('only', nargs='*')
    a = ap.parse_args()
    if os.geteuid() != 0:
        print('%s test: must run as root (it starts a private MTA)' % a.mta)
        return 99
    return Suite(a).run(a.only)


if __name__ == '__main__':
    sys.exit(main())
