"""mtlib.py -- shared helpers for the daemon's protocol and real-MTA tests.

Only the Python standard library.  Nothing here knows what the engine should
do with a message: expected results always come from running the offline
front end (codepage-milter -t) on the same bytes.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Results:
    """TAP-like lines, one per check, and a final 'N passed, M failed'."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, desc, detail=None):
        if ok:
            self.passed += 1
            print('ok - %s' % desc)
        else:
            self.failed += 1
            print('not ok - %s' % desc)
            if detail:
                for line in str(detail).rstrip().splitlines()[-40:]:
                    print('#   %s' % line)
        sys.stdout.flush()
        return ok

    def finish(self):
        print('%s: %d passed, %d failed' % (self.name, self.passed, self.failed))
        return 0 if self.failed == 0 and self.passed > 0 else 1


def to_crlf(raw):
    """LF or CRLF line endings -> CRLF (the SMTP wire form)."""
    return re.sub(rb'\r?\n', b'\r\n', raw)


def to_lf(raw):
    return raw.replace(b'\r\n', b'\n')


def split_message(raw):
    """(fields, body) of a message: fields = [(name, value)], value = the bytes
    after the colon up to (not including) the field's final line ending, with
    folding kept as in the input.  Works with LF and CRLF input."""
    fields = []
    pos, n = 0, len(raw)
    start = None          # offset of the current field's value
    while pos < n:
        eol = raw.find(b'\n', pos)
        if eol == -1:
            eol = n
        line = raw[pos:eol]
        if line in (b'', b'\r'):
            pos = eol + 1
            break
        end = eol - 1 if raw[eol - 1:eol] == b'\r' else eol
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1] = (fields[-1][0], raw[start:end])
        else:
            colon = line.find(b':')
            if colon == -1:
                break
            start = pos + colon + 1
            fields.append((line[:colon], raw[start:end]))
        pos = eol + 1
    return fields, raw[pos:]


def field_diff(fields_in, fields_out):
    """What turns the input header block into the output one, in milter terms:
    ([(name, occurrence, new_value)], [(name, value)] added at the end).
    Raises ValueError when the output is not "same fields, some values changed,
    new ones appended" (the only shapes the engine produces at top level)."""
    if len(fields_out) < len(fields_in):
        raise ValueError('output has fewer header fields than input')
    changes, adds, seen = [], [], {}
    for (ni, vi), (no, vo) in zip(fields_in, fields_out):
        if ni.lower() != no.lower():
            raise ValueError('field order differs: %r vs %r' % (ni, no))
        k = ni.lower()
        seen[k] = seen.get(k, 0) + 1
        if vi != vo:
            changes.append((ni, seen[k], vo))
    for no, vo in fields_out[len(fields_in):]:
        adds.append((no, vo))
    return changes, adds


def mta_value(value):
    """A field value in the form both MTAs use over the milter protocol with
    SMFIP_HDR_LEADSPC: bytes after the colon, LF between folded lines."""
    return value.replace(b'\r\n', b'\n')


def run_cli(binary, conf, raw, action='-t'):
    """codepage-milter [-c conf] -t - on raw; returns (status, stdout, stderr)."""
    args = [binary]
    if conf:
        args += ['-c', conf]
    args += [action, '-']
    p = subprocess.run(args, input=raw, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout, p.stderr


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_connectable(spec, timeout=15.0, proc=None):
    """Wait until a milter socket spec (unix:/path or inet:PORT@HOST) accepts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if spec.startswith(('unix:', 'local:')):
                s = socket.socket(socket.AF_UNIX)
                s.connect(spec.split(':', 1)[1])
            else:
                port, host = spec.split(':', 1)[1].split('@')
                s = socket.create_connection((host, int(port)), timeout=1)
            s.close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Daemon:
    """codepage-milter -f on a socket, with stderr captured to a log file."""

    def __init__(self, binary, workdir, conf_text=None, sock=None, extra=None, name='milter', env=None):
        self.binary = binary
        self.env = env
        self.workdir = workdir
        self.conf = None
        if conf_text is not None:
            self.conf = os.path.join(workdir, name + '.conf')
            with open(self.conf, 'w') as f:
                f.write(conf_text)
        self.sock = sock or 'unix:%s' % os.path.join(workdir, name + '.sock')
        self.log = os.path.join(workdir, name + '.log')
        self.extra = extra or []
        self.proc = None

    def args(self):
        a = [self.binary, '-f', '-p', self.sock]
        if self.conf:
            a += ['-c', self.conf]
        return a + self.extra

    def start(self, wait=True):
        self.logf = open(self.log, 'ab')
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.args(), stdout=self.logf, stderr=self.logf, env=env)
        if wait and not wait_connectable(self.sock, proc=self.proc):
            self.stop()
            raise RuntimeError('daemon did not come up on %s:\n%s' % (self.sock, self.read_log()))
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=40):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.logf.close()
        self.proc = None
        return rc

    def read_log(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get('TMPDIR', '/tmp'))
    os.chmod(d, 0o755)
    return d


def sanitizer_trouble(log):
    """Text of an ASan/UBSan report in a daemon log, or None."""
    m = re.search(r'(==\d+==ERROR: .*|runtime error: .*|LeakSanitizer.*)', log)
    return m.group(0) if m else None
