#!/usr/bin/env python3
"""config_keys_test.py -- every configuration key has a test that shows its effect.

Usage: config_keys_test.py --bin BUILD/codepage-milter --keys BUILD/packaging/tests/print_conf_keys
                           --srcdir SRCDIR

The key list comes from the parser's own table (print_conf_keys prints
conf_keys[]), so a new key without a test here fails this test.  Each key is
shown to matter by comparing a run with the key set against a run without
it: offline (-t) for what the engine decides, with the daemon for process
keys (Socket, UserID, PidFile, UMask, Syslog, SyslogFacility).  Keys whose
effect needs an SMTP source or a running milter are exercised by
protocol_test.py; for those this test checks that the named scenario
exists there (protocol.test runs it).
Ends with "N passed, M failed".
"""
import argparse
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Keys whose effect is shown at protocol level: key -> protocol_test scenario
PROTOCOL_KEYS = {
    'ClientCharset': 'rules', 'HeloCharset': 'rules', 'SenderCharset': 'rules',
    'InternalHosts': 'scoping', 'ExemptHosts': 'scoping',
    'OnError': 'onerror', 'LogLevel': 'loglevel',
    # the offline front end reads its file directly; the daemon spools
    'SpoolDir': 'spool', 'SpoolThreshold': 'spool',
}
# libmilter logs a few lines of its own straight to syslog (facility user),
# e.g. its worker pool's "TASKMGR_LOCK error" at shutdown; the Syslog and
# SyslogFacility keys govern codepage-milter's own lines only.
LIBMILTER_LINE = re.compile(r'TASKMGR_|smfi_|mi_')

CP1252 = ('Grüße aus Köln, schöne Äpfel für 10 € – „Zitat“ und “quoted” text.\n'
          'Mit freundlichen Grüßen — Jürgen Weiß\n').encode('cp1252')


def msg(headers=b'', body=CP1252, ct=b'Content-Type: text/plain\n'):
    return (b'From: a@example.test\nTo: b@example.test\nSubject: test\nMIME-Version: 1.0\n'
            + headers + ct + b'\n' + body)


def own_priorities(text):
    """<PRI> of codepage-milter's own syslog lines (libmilter's excluded)."""
    # libmilter calls syslog() itself; before (or without) our openlog() its
    # lines carry the default facility, user (1): not ours
    return [int(m.group(1)) for m in re.finditer(r'^<(\d+)>(.*codepage-milter.*)$', text, re.M)
            if not LIBMILTER_LINE.search(m.group(2)) and int(m.group(1)) // 8 != 1]


class Suite:
    def __init__(self, a):
        self.bin = os.path.abspath(a.bin)
        self.keys_bin = os.path.abspath(a.keys)
        self.work = mtlib.tempdir('cpm-keys.')
        self.r = mtlib.Results('config-keys')
        self.keep = a.keep
        self.n = 0

    def conf(self, text):
        self.n += 1
        p = os.path.join(self.work, 'k%03d.conf' % self.n)
        with open(p, 'w') as f:
            f.write(text)
        return p

    def cli(self, conf_text, raw, action='-t'):
        rc, out, err = mtlib.run_cli(self.bin, self.conf(conf_text), raw, action)
        return rc, out, err.decode('utf-8', 'replace')

    def repaired(self, conf_text, raw):
        rc, out, err = self.cli(conf_text, raw)
        if rc != 0:
            raise RuntimeError('-t failed (%d): %s' % (rc, err))
        return out

    def content_type(self, out):
        fields, _ = mtlib.split_message(out)
        for n, v in fields:
            if n.lower() == b'content-type':
                return v.lower()
        return b''

    def field_names(self, out):
        return [n.lower() for n, _ in mtlib.split_message(out)[0]]

    # ---- offline keys --------------------------------------------------------

    def t_Mode(self):
        raw = msg()
        off = self.repaired('Mode off\n', raw)
        report = self.repaired('Mode report\n', raw)
        label = self.repaired('Mode label\n', raw)
        trans = self.repaired('Mode transcode\n', raw)
        self.r.check(off == raw, 'Mode off: nothing changes')
        self.r.check(label != raw and mtlib.split_message(label)[1] == mtlib.split_message(raw)[1],
                     'Mode label: header repaired, body bytes untouched')
        self.r.check(report != raw and self.content_type(report) == self.content_type(raw)
                     and mtlib.split_message(report)[1] == mtlib.split_message(raw)[1],
                     'Mode report: only an audit header, no repair')
        self.r.check(mtlib.split_message(trans)[1] != mtlib.split_message(raw)[1]
                     and b'utf-8' in self.content_type(trans),
                     'Mode transcode: body converted, labelled utf-8')

    def t_DefaultCharset(self):
        # a single 8-bit byte carries no statistical evidence: the site default decides
        raw = msg(body=b'abc \xf9 def\n')
        a = self.content_type(self.repaired('DefaultCharset windows-1252\n', raw))
        b = self.content_type(self.repaired('DefaultCharset iso-8859-2\n', raw))
        self.r.check(a != b, 'DefaultCharset: the default changes the label for evidence-free text',
                     '%r vs %r' % (a, b))

    def t_HeaderCharset(self):
        raw = msg(headers=b'X-Mailer: LegacyMail 1.0\n')
        with_rule = self.content_type(self.repaired('HeaderCharset X-Mailer:legacymail koi8-r\n', raw))
        without = self.content_type(self.repaired('', raw))
        self.r.check(b'koi8-r' in with_rule and b'koi8-r' not in without,
                     'HeaderCharset: a matching header picks the configured charset',
                     '%r / %r' % (with_rule, without))
        other = self.content_type(self.repaired('HeaderCharset X-Mailer:othermailer koi8-r\n', raw))
        self.r.check(b'koi8-r' not in other, 'HeaderCharset: a non-matching rule does nothing', other)

    def t_SignedMessages(self):
        raw = msg(headers=b'DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; b=abc; bh=def\n')
        skip = self.repaired('SignedMessages skip\n', raw)
        repair = self.repaired('SignedMessages repair\n', raw)
        self.r.check(skip == raw, 'SignedMessages skip: a DKIM-signed message passes untouched')
        self.r.check(repair != raw, 'SignedMessages repair: it is repaired')

    def t_SevenBitOutput(self):
        raw = msg()
        no = self.repaired('Mode transcode\nSevenBitOutput no\n', raw)
        yes = self.repaired('Mode transcode\nSevenBitOutput yes\n', raw)
        high = re.compile(rb'[\x80-\xff]')
        self.r.check(high.search(no) is not None, 'SevenBitOutput no: 8-bit output allowed')
        self.r.check(high.search(yes) is None, 'SevenBitOutput yes: output is 7-bit')

    def tnef_msg(self, **kw):
        sys.path.insert(0, os.path.join(HERE, '..', 'tnef'))
        import tnefwriter
        import base64
        t = base64.encodebytes(tnefwriter.message(**kw))
        return (b'From: a@example.test\nTo: b@example.test\nSubject: t\nMIME-Version: 1.0\n'
                b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
                + b'Un caf\xe9 au bar.\n--B\n'
                b'Content-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\n' + t + b'--B--\n')

    def t_TnefEvidence(self):
        raw = self.tnef_msg(oem=1250)
        yes = self.repaired('TnefEvidence yes\n', raw)
        no = self.repaired('TnefEvidence no\n', raw)
        self.r.check(b'charset=windows-1250' in yes, 'TnefEvidence yes: the TNEF code page labels the text', yes)
        self.r.check(yes != no, 'TnefEvidence no: the TNEF part is not read', no)

    def t_TnefMaxBytes(self):
        raw = self.tnef_msg(oem=1250, subject='x' * 4000)
        big = self.repaired('TnefMaxBytes 16M\n', raw)
        small = self.repaired('TnefMaxBytes 20\n', raw)
        self.r.check(b'charset=windows-1250' in big, 'TnefMaxBytes 16M: the stream is read', big)
        self.r.check(big != small, 'TnefMaxBytes 20: reading stops before attOemCodepage', small)

    def t_AuditHeader(self):
        raw = msg()
        named = self.field_names(self.repaired('AuditHeader X-Test-Audit\n', raw))
        off = self.field_names(self.repaired('AuditHeader off\n', raw))
        self.r.check(b'x-test-audit' in named, 'AuditHeader NAME: repaired message carries it')
        default = self.field_names(self.repaired('', raw))
        extra = set(default) - set(self.field_names(raw))
        self.r.check(b'x-test-audit' not in off and len(extra) > 0 and not (extra & set(off)) - {
                     b'mime-version', b'content-transfer-encoding'},
                     'AuditHeader off: the default audit header is not added', (extra, off))

    def t_MaxMessageSize(self):
        raw = msg()
        small = self.repaired('MaxMessageSize 100\n', raw)
        big = self.repaired('MaxMessageSize 10M\n', raw)
        self.r.check(small == raw and big != raw, 'MaxMessageSize: larger messages pass untouched')
        # from a file the CLI reads the message back from it (no spool copy),
        # and one over the limit is not scanned at all: same bytes as a pipe
        path = os.path.join(self.work, 'maxsize-input.eml')
        with open(path, 'wb') as f:
            f.write(raw)
        for conf_text, want in (('MaxMessageSize 100\n', small), ('MaxMessageSize 10M\n', big),
                                ('MaxMessageSize 100\nSpoolThreshold 0\n', small),
                                ('MaxMessageSize 10M\nSpoolThreshold 0\n', big)):
            p = subprocess.run([self.bin, '-c', self.conf(conf_text), '-t', path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.r.check(p.returncode == 0 and p.stdout == want,
                         'MaxMessageSize: %s from a file: the bytes a pipe gives' % conf_text.replace('\n', '; '),
                         p.stderr)
        p = subprocess.run([self.bin, '-c', self.conf('MaxMessageSize 100\n'), '-x', path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.r.check(p.returncode == 0 and b'larger than MaxMessageSize (100 bytes)' in p.stdout,
                     'MaxMessageSize: -x on a file says why it passes untouched', p.stdout)

    def _limit(self, key, small, raw):
        limited = self.repaired('%s %s\n' % (key, small), raw)
        default = self.repaired('', raw)
        self.r.check(default != raw and limited != default,
                     '%s %s: a message past the limit is handled differently (left alone)' % (key, small))

    def t_MaxHeaders(self):
        self._limit('MaxHeaders', '3', msg(headers=b''.join(b'X-H%d: v\n' % i for i in range(10))))

    def t_MaxHeaderSize(self):
        self._limit('MaxHeaderSize', '1k', msg(ct=b'Content-Type: text/plain; x-pad=' + b'a' * 3000 + b'\n'))

    def t_MaxDepth(self):
        inner = b'Content-Type: text/plain\n\n' + CP1252
        body = inner
        for i in range(4):
            body = (b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) + body
                    + b'\n--b%d--\n' % i)
        raw = b'From: a@example.test\nSubject: deep\nMIME-Version: 1.0\n' + body
        self._limit('MaxDepth', '2', raw)

    def t_MaxParts(self):
        parts = b''.join(b'--b\nContent-Type: text/plain\n\n' + CP1252 + b'\n' for _ in range(6))
        raw = msg(ct=b'Content-Type: multipart/mixed; boundary="b"\n', body=parts + b'--b--\n')
        self._limit('MaxParts', '3', raw)

    # ---- daemon keys -----------------------------------------------------------

    def start_bg(self, conf_text, sock):
        """Start in the background (no -f); returns the pid from the PidFile."""
        pidfile = os.path.join(self.work, 'bg%d.pid' % self.n)
        conf = self.conf(conf_text + 'PidFile %s\n' % pidfile)
        rc = subprocess.run([self.bin, '-c', conf] + (['-p', sock] if sock else []),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30).returncode
        if rc != 0:
            raise RuntimeError('background start failed: %d' % rc)
        for _ in range(100):
            if os.path.exists(pidfile) and os.path.getsize(pidfile) > 0:
                break
            time.sleep(0.05)
        return int(open(pidfile).read().split()[0]), pidfile

    def stop_pid(self, pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def t_Socket(self):
        sock = os.path.join(self.work, 'from-config.sock')
        pid, _ = self.start_bg('Socket unix:%s\n' % sock, None)
        try:
            self.r.check(mtlib.wait_connectable('unix:' + sock), 'Socket: the daemon listens where the file says')
        finally:
            self.stop_pid(pid)

    def t_PidFile(self):
        sock = 'unix:' + os.path.join(self.work, 'pid.sock')
        pid, pidfile = self.start_bg('', sock)
        try:
            self.r.check(os.path.exists('/proc/%d' % pid) and 'codepage' in open('/proc/%d/cmdline' % pid).read(),
                         'PidFile: names the running daemon')
        finally:
            self.stop_pid(pid)
        self.r.check(not os.path.exists(pidfile), 'PidFile: removed at exit')

    def t_UserID(self):
        if os.geteuid() != 0:
            self.r.check(False, 'UserID: needs root')
            return
        sock = 'unix:' + os.path.join(self.work, 'uid.sock')
        pid, _ = self.start_bg('UserID nobody\n', sock)
        try:
            for _ in range(50):     # the drop follows the pid file
                uid = [l for l in open('/proc/%d/status' % pid) if l.startswith('Uid:')][0].split()[1:]
                if uid[0] != '0':
                    break
                time.sleep(0.1)
            import pwd
            self.r.check(uid == [str(pwd.getpwnam('nobody').pw_uid)] * 4, 'UserID: the daemon runs as nobody (%s)' % uid)
        finally:
            self.stop_pid(pid)

    def t_UMask(self):
        for um, want in (('000', 0o777), ('077', 0o700)):
            path = os.path.join(self.work, 'umask%s.sock' % um)
            pid, _ = self.start_bg('UMask %s\n' % um, 'unix:' + path)
            try:
                mtlib.wait_connectable('unix:' + path)
                mode = stat.S_IMODE(os.stat(path).st_mode)
                self.r.check(mode == want, 'UMask %s: socket mode %o' % (um, mode))
            finally:
                self.stop_pid(pid)

    def syslog_run(self, conf_text):
        """Run the daemon in the background inside a private mount namespace
        whose /dev/log is ours (mta-sandbox.sh --syslog, priorities kept);
        returns the raw syslog lines it wrote."""
        run = mtlib.tempdir('cpm-syslog.')
        log = os.path.join(run, 'syslog')
        sock = 'unix:' + os.path.join(run, 's.sock')
        pidfile = os.path.join(run, 'd.pid')
        conf = self.conf(conf_text + 'PidFile %s\n' % pidfile)
        env = dict(os.environ, SANDBOX_KEEP_PRIORITY='1')
        subprocess.run([os.path.join(HERE, 'mta-sandbox.sh'), run, 'syslog-test.localdomain', '--syslog', log,
                        '--', self.bin, '-c', conf, '-p', sock], env=env, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(100):      # created (O_EXCL), then written, by the detached child
            if os.path.exists(pidfile) and os.path.getsize(pidfile) > 0:
                break
            time.sleep(0.05)
        pid = int(open(pidfile).read().split()[0])
        self.stop_pid(pid)
        time.sleep(1.2)
        text = open(log, 'rb').read().decode('utf-8', 'replace') if os.path.exists(log) else ''
        try:
            os.unlink(os.path.join(run, 'sandbox/dev/log'))
        except OSError:
            pass
        return text

    def t_SyslogFacility(self):
        # <PRI> = facility * 8 + severity; local3 = 19, mail = 2
        text = self.syslog_run('SyslogFacility local3\n')
        pris = own_priorities(text)
        self.r.check(pris and all(p // 8 == 19 for p in pris), 'SyslogFacility local3: lines logged as local3',
                     text)
        text = self.syslog_run('')
        pris = own_priorities(text)
        self.r.check(pris and all(p // 8 == 2 for p in pris), 'SyslogFacility default: mail', text)

    def t_Syslog(self):
        text = self.syslog_run('Syslog no\n')
        self.r.check(not own_priorities(text), 'Syslog no: nothing of ours sent to syslog', text)

    # ---- sender memory keys (the learning itself: tests/unit/check_memory,
    # tests/memory/redis.test; here what each key does to the store) ---------

    def memory_cmd(self, conf_text, *args):
        t0 = time.monotonic()
        p = subprocess.run([self.bin, '-c', self.conf(conf_text), '-M'] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode(), time.monotonic() - t0

    def mem_conf(self, extra=''):
        return 'MemoryBackend lmdb\nMemoryPath %s/mem%d.lmdb\n%s' % (self.work, self.n, extra)

    def t_MemoryBackend(self):
        rc_none, _, err, _ = self.memory_cmd('MemoryBackend none\n', 'list')
        rc_lmdb, out, _, _ = self.memory_cmd(self.mem_conf(), 'list')
        self.r.check(rc_none == 1 and 'none' in err and rc_lmdb == 0 and '0 sources' in out,
                     'MemoryBackend: none has no store, lmdb opens one', err + out)

    def t_MemoryPath(self):
        path = os.path.join(self.work, 'custom.lmdb')
        rc, out, err, _ = self.memory_cmd('MemoryPath %s\n' % path, 'json')
        self.r.check(rc == 0 and out.strip() == '[]' and os.path.exists(path),
                     'MemoryPath: the LMDB file is created there', err)

    def _unreachable_redis(self, extra):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        return self.memory_cmd('MemoryBackend redis\nMemoryRedis 127.0.0.1:%d\n%s' % (port, extra), 'list')

    def t_MemoryRedis(self):
        rc, out, err, _ = self._unreachable_redis('')
        self.r.check(rc == 1 and 'cannot be read' in err, 'MemoryRedis: the server asked is that one', err)

    def t_MemoryTimeout(self):
        rc, _, err, secs = self._unreachable_redis('MemoryTimeout 50\n')
        self.r.check(rc == 1 and secs < 5, 'MemoryTimeout: an unreachable Redis fails fast (%.2f s)' % secs, err)

    def t_MemoryPrefix(self):
        rc, out, err, _ = self.memory_cmd(self.mem_conf('MemoryPrefix site7:\n'), 'forget', 'from:example.test')
        self.r.check(rc == 2 and 'site7:from:example.test' in out,
                     'MemoryPrefix: keys are looked up under it', out + err)

    def _accepts(self, key, good, bad):
        ok = subprocess.run([self.bin, '-c', self.conf('%s %s\n' % (key, good)), '-n'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE).returncode
        p = subprocess.run([self.bin, '-c', self.conf('%s %s\n' % (key, bad)), '-n'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.r.check(ok == 0 and p.returncode != 0 and key.encode() in p.stderr,
                     '%s: %s accepted, %s rejected (effect: tests/unit/check_memory)' % (key, good, bad))

    def t_MemoryTTL(self):
        self._accepts('MemoryTTL', '12h', '12x')

    def t_MemoryHalfLife(self):
        self._accepts('MemoryHalfLife', '7d', '0')

    def t_MemoryMaxKeys(self):
        self._accepts('MemoryMaxKeys', '5000', '5')

    def t_MemoryMapSize(self):
        self._accepts('MemoryMapSize', '16M', '100k')

    def t_MemoryMinCount(self):
        self._accepts('MemoryMinCount', '5', '0')

    def t_MemoryCacheTime(self):
        self._accepts('MemoryCacheTime', '0', '60001')	# effect: tests/memory/check_memory_redis

    def run(self):
        keys = subprocess.run([self.keys_bin], stdout=subprocess.PIPE, check=True).stdout.decode().split('\n')
        keys = [l.split('\t')[0] for l in keys if l.strip()]
        self.r.check(len(keys) > 10, 'key table read (%d keys)' % len(keys))
        proto_src = open(os.path.join(HERE, 'protocol_test.py')).read()
        for key in keys:
            fn = getattr(self, 't_' + key, None)
            if key in PROTOCOL_KEYS:
                scen = PROTOCOL_KEYS[key]
                self.r.check(("('%s'," % scen) in proto_src and key in proto_src,
                             '%s: effect tested by protocol.test scenario "%s"' % (key, scen))
                continue
            if fn is None:
                self.r.check(False, '%s: has a test' % key)
                continue
            try:
                fn()
            except Exception as ex:
                self.r.check(False, '%s: test ran' % key, repr(ex))
        rc = self.r.finish()
        if rc == 0 and not self.keep:
            subprocess.run(['rm', '-rf', self.work])
        else:
            print('# work directory kept: %s' % self.work)
        return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--keys', required=True)
    ap.add_argument('--srcdir', required=True)
    ap.add_argument('--keep', action='store_true')
    return Suite(ap.parse_args()).run()


if __name__ == '__main__':
    sys.exit(main())
