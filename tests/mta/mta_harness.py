#!/usr/bin/python3
"""mta_harness.py - shared helper for postfix-run.sh and sendmail-run.sh.

Usage:
  mta_harness.py submit  --host H --port P --out RESULTS.jsonl [--from ADDR]
                         [--rcpt ADDR]... [--helo NAME] [--timeout S] [--jobs N]
                         [--quiet] MSG...
  mta_harness.py submit-local --sendmail PATH --config-dir DIR --maillog FILE
                         --out RESULTS.jsonl [--from ADDR] [--rcpt ADDR]... MSG...
  mta_harness.py wait-port --host H --port P [--timeout S]
  mta_harness.py collect --results RESULTS.jsonl --spool DIR --out OUT_DIR
                         [--queue-state FILE] [--maillog FILE] [--mta NAME] [--quiet]
  mta_harness.py milter-socket --style postfix|sendmail SOCKET

submit   sends every MSG file over SMTP, one session per message.  The file's
         bytes are sent unchanged except that every line ending becomes CRLF
         (bare LF or CRLF in the file -> CRLF on the wire; SMTP requires it)
         and dot-stuffing; 8-bit bytes are kept.  BODY=8BITMIME is added when
         the message contains bytes >= 0x80 and the server offers 8BITMIME.
         One JSON object per message goes to RESULTS.jsonl.  With
         --kill-pidfile F, the process whose pid is in F gets SIGKILL once
         half of the message data has been sent (then the rest follows).
submit-local  submits every MSG with Postfix's sendmail command (postdrop,
         pickup: the non_smtpd_milters path), one at a time, and learns each
         queue id from pickup's line in the maillog.  With --mta sendmail,
         --sendmail is a command line (split on blanks) running Sendmail's
         own binary (-bm or -t), and the queue id comes from its from= line
         (with --msp: from the MSP's relay line, the daemon's queue id);
         --no-rcpt leaves the recipients to -t.
collect  matches accepted queue ids with the files the capture mailer wrote
         into the spool, moves them to OUT_DIR/delivered/<message name>, and
         writes OUT_DIR/report.tsv and OUT_DIR/report.json.
Only the Python standard library is used.
"""
import argparse
import json
import os
import re
import shutil
import smtplib
import socket
import sys
import time

HIGH = re.compile(rb'[\x80-\xff]')


def to_crlf(raw):
    """Normalise line endings to CRLF (SMTP wire format)."""
    lines = raw.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    out = []
    for ln in lines:
        if ln.endswith(b'\r'):
            ln = ln[:-1]
        out.append(ln)
    return b'\r\n'.join(out) + b'\r\n'


def reply_text(code, msg):
    if isinstance(msg, bytes):
        msg = msg.decode('utf-8', 'replace')
    return '%s %s' % (code, ' / '.join(str(msg).splitlines()))


def parse_queue_id(msg):
    if isinstance(msg, bytes):
        msg = msg.decode('utf-8', 'replace')
    m = re.search(r'queued as ([0-9A-Za-z]+)', msg)          # Postfix
    if m:
        return m.group(1)
    m = re.search(r'(?:^|\s)([0-9A-Za-z]{8,})\s+Message accepted', msg)  # Sendmail
    if m:
        return m.group(1)
    return None


def classify(code):
    if 400 <= code < 500:
        return 'tempfail'
    if 500 <= code < 600:
        return 'rejected'
    return 'error'


def submit_one(path, a):
    raw = open(path, 'rb').read()
    data = to_crlf(raw)
    eight = bool(HIGH.search(raw))
    res = {'message': os.path.basename(path), 'path': os.path.abspath(path),
           'bytes': len(raw), 'eightbit': eight, 'status': None,
           'stage': None, 'reply': None, 'queue_id': None, 'body_param': None}
    t0 = time.monotonic()
    s = smtplib.SMTP(timeout=a.timeout)
    stage = 'connect'
    try:
        code, msg = s.connect(a.host, a.port)
        if code != 220:
            raise smtplib.SMTPResponseException(code, msg)
        stage = 'EHLO'
        code, msg = s.ehlo(a.helo)
        if code != 250:
            code, msg = s.helo(a.helo)
            stage = 'HELO'
            if code != 250:
                raise smtplib.SMTPResponseException(code, msg)
        opts = []
        if eight and s.has_extn('8bitmime'):
            opts.append('BODY=8BITMIME')
            res['body_param'] = '8BITMIME'
        stage = 'MAIL'
        code, msg = s.mail(a.mail_from, opts)
        if code != 250:
            raise smtplib.SMTPResponseException(code, msg)
        stage = 'RCPT'
        ok = 0
        last = None
        for r in a.rcpt:
            code, msg = s.rcpt(r)
            if code in (250, 251):
                ok += 1
            else:
                last = (code, msg)
        if not ok:
            raise smtplib.SMTPResponseException(*last)
        stage = 'DATA'
        if a.kill_pidfile:
            code, msg = data_with_kill(s, data, a.kill_pidfile)
        else:
            try:
                code, msg = s.data(data)
            except smtplib.SMTPDataError as e:
                raise smtplib.SMTPResponseException(e.smtp_code, e.smtp_error)
        stage = 'end-of-data'
        if code != 250:
            raise smtplib.SMTPResponseException(code, msg)
        res['status'] = 'accepted'
        res['queue_id'] = parse_queue_id(msg)
        res['reply'] = reply_text(code, msg)
        res['stage'] = stage
        try:
            s.quit()
        except Exception:
            pass
    except smtplib.SMTPResponseException as e:
        res['status'] = classify(e.smtp_code)
        res['stage'] = stage
        res['reply'] = reply_text(e.smtp_code, e.smtp_error)
        try:
            s.quit()
        except Exception:
            s.close()
    except (OSError, smtplib.SMTPException) as e:
        res['status'] = 'error'
        res['stage'] = stage
        res['reply'] = '%s: %s' % (type(e).__name__, e)
        s.close()
    res['smtp_seconds'] = round(time.monotonic() - t0, 3)
    return res


def data_with_kill(s, data, pidfile):
    """DATA in two halves, with SIGKILL of the pid in pidfile in between."""
    import signal
    code, msg = s.docmd('data')
    if code != 354:
        raise smtplib.SMTPResponseException(code, msg)
    wire = re.sub(rb'(?m)^\.', b'..', data)
    half = len(wire) // 2
    s.send(wire[:half])
    time.sleep(0.3)
    with open(pidfile) as fh:
        pid = int(fh.read().split()[0])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    s.send(wire[half:] + b'.\r\n')
    return s.getreply()


def cmd_submit_local(a):
    """Postfix's sendmail command, one message at a time; the queue id comes
    from pickup's maillog line."""
    import subprocess
    if a.no_rcpt:
        a.rcpt = []
    elif not a.rcpt:
        a.rcpt = ['harness-rcpt@example.test']
    seen = set()
    if a.mta == 'sendmail':
        # -bm: the queue id of its own from= line; the MSP (-t): the id the
        # daemon answered the MSP's relay with
        if a.msp:
            pat = re.compile(r'sendmail\[\d+\]: [0-9A-Za-z]+: to=.*stat=Sent \(([0-9A-Za-z]+) Message accepted')
        else:
            pat = re.compile(r'sendmail\[\d+\]: ([0-9A-Za-z]+): from=.*relay=root@localhost$', re.M)
        cmd = a.sendmail.split() + ['-C', a.config_dir, '-i', '-f', a.mail_from] + a.rcpt
    else:
        pat = re.compile(r'postfix[^:]*/pickup\[\d+\]: ([0-9A-Za-z]+): uid=')
        cmd = [a.sendmail, '-C', a.config_dir, '-i', '-f', a.mail_from] + a.rcpt

    def pickup_ids():
        try:
            text = open(a.maillog, errors='replace').read()
        except OSError:
            return []
        return pat.findall(text)

    seen.update(pickup_ids())
    with open(a.out, 'a') as fh:
        for path in a.messages:
            res = {'message': os.path.basename(path), 'path': os.path.abspath(path),
                   'bytes': os.path.getsize(path), 'status': None, 'stage': 'sendmail',
                   'reply': None, 'queue_id': None}
            with open(path, 'rb') as msg:
                p = subprocess.run(cmd, stdin=msg, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            res['reply'] = 'exit %d %s' % (p.returncode, p.stdout.decode('utf-8', 'replace').strip())
            if p.returncode == 0:
                res['status'] = 'accepted'
                end = time.monotonic() + 30
                while time.monotonic() < end and res['queue_id'] is None:
                    new = [q for q in pickup_ids() if q not in seen]
                    if new:
                        res['queue_id'] = new[0]
                        seen.add(new[0])
                    else:
                        time.sleep(0.05)
            else:
                res['status'] = 'tempfail' if p.returncode == 75 else 'error'
            fh.write(json.dumps(res) + '\n')
            fh.flush()
            if not a.quiet:
                print('  submitted %-30s %-9s %s %s' % (res['message'], res['status'],
                      res['queue_id'], res['reply']), flush=True)
    return 0


def cmd_submit(a):
    if not a.rcpt:
        a.rcpt = ['harness-rcpt@example.test']
    t0 = time.monotonic()
    if a.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=a.jobs) as ex:
            results = list(ex.map(lambda p: submit_one(p, a), a.messages))
    else:
        results = (submit_one(p, a) for p in a.messages)
    n = 0
    with open(a.out, 'a') as fh:
        for r in results:
            n += 1
            fh.write(json.dumps(r) + '\n')
            fh.flush()
            if not a.quiet:
                print('  submitted %-30s %-9s %s' % (r['message'], r['status'], r['reply']),
                      flush=True)
    dt = time.monotonic() - t0
    print('  %d message(s) submitted in %.2fs (%.1f msg/s, %d connection(s) in parallel)'
          % (n, dt, n / dt if dt else 0.0, a.jobs), flush=True)
    return 0


def cmd_wait_port(a):
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((a.host, a.port), timeout=2) as c:
                c.settimeout(5)
                banner = c.recv(512)
                if banner.startswith(b'220'):
                    c.sendall(b'QUIT\r\n')
                    return 0
        except OSError:
            pass
        time.sleep(0.1)
    print('port %s:%s did not answer with 220 within %ss' % (a.host, a.port, a.timeout),
          file=sys.stderr)
    return 1


def cmd_milter_socket(a):
    """Normalise a milter socket spec to Postfix (inet:host:port) or
    Sendmail/libmilter (inet:port@host) syntax."""
    s = a.socket
    if s in ('none', ''):
        print('none')
        return 0
    m = re.match(r'^(inet6?):(.*)$', s)
    if not m:
        m2 = re.match(r'^(unix|local):(.+)$', s)
        if not m2:
            if s.startswith('/'):
                m2 = re.match(r'^()(.+)$', s)
            else:
                print('unrecognised milter socket: %s' % s, file=sys.stderr)
                return 2
        path = m2.group(2)
        print(('unix:%s' if a.style == 'postfix' else 'local:%s') % path)
        return 0
    fam, rest = m.group(1), m.group(2)
    if '@' in rest:                     # port@host (libmilter style)
        port, host = rest.split('@', 1)
    else:                               # host:port (Postfix style)
        host, _, port = rest.rpartition(':')
        host = host.strip('[]')
    if not host:
        host = '127.0.0.1' if fam == 'inet' else '::1'
    if a.style == 'postfix':
        if fam == 'inet6':
            print('inet:[%s]:%s' % (host, port))
        else:
            print('inet:%s:%s' % (host, port))
    else:
        print('%s:%s@%s' % (fam, port, host))
    return 0


def cmd_collect(a):
    results = []
    with open(a.results) as fh:
        for line in fh:
            if line.strip():
                results.append(json.loads(line))
    out = a.out
    spool_files = {}
    for fn in sorted(os.listdir(a.spool)):
        if not fn.endswith('.eml'):
            continue
        qid = fn.split('.', 1)[0]
        p = os.path.join(a.spool, fn)
        spool_files.setdefault(qid, []).append((os.path.getmtime(p), p))
    qstate = ''
    if a.queue_state and os.path.exists(a.queue_state):
        qstate = open(a.queue_state, errors='replace').read()
    maillog = []
    if a.maillog and os.path.exists(a.maillog):
        maillog = open(a.maillog, errors='replace').read().splitlines()
    used = set()
    for r in results:
        r['delivered'] = []
        if r['status'] != 'accepted':
            if r['status'] == 'tempfail':
                # the SMTP client keeps responsibility: keep the original
                d = os.path.join(out, 'deferred')
                os.makedirs(d, exist_ok=True)
                shutil.copyfile(r['path'], os.path.join(d, r['message']))
                r['note'] = 'temporary failure: not delivered, original kept in deferred/'
            continue
        qid = r.get('queue_id')
        files = sorted(spool_files.get(qid, [])) if qid else []
        if files:
            used.add(qid)
            d = os.path.join(out, 'delivered')
            os.makedirs(d, exist_ok=True)
            for i, (_, p) in enumerate(files):
                name = r['message'] if i == 0 else '%s.%d' % (r['message'], i + 1)
                dst = os.path.join(d, name)
                shutil.move(p, dst)
                r['delivered'].append(dst)
            r['status'] = 'delivered'
        elif qid and qid in qstate:
            r['status'] = 'queued'
            lines, grab = [], False
            for ln in qstate.splitlines():
                if qid in ln:
                    grab = True
                elif not ln[:1].isspace():
                    grab = False       # mailq: continuation lines are indented
                if grab:
                    lines.append(' '.join(ln.split()))
            r['note'] = 'still in the MTA queue: ' + ' | '.join(lines)[:500]
        else:
            logl = [ln.strip() for ln in maillog if qid and qid in ln]
            disc = [ln for ln in logl if 'discard' in ln.lower()]
            bnc = [ln for ln in logl if 'status=bounced' in ln or re.search(r'dsn=5', ln)]
            if disc:
                r['status'] = 'discarded'
                r['note'] = 'discarded by the MTA/milter: ' + disc[-1][:300]
            elif bnc:
                r['status'] = 'bounced'
                r['note'] = 'bounced (see extra/ for the DSN): ' + bnc[-1][:300]
            else:
                r['status'] = 'accepted-not-delivered'
                r['note'] = 'accepted but neither delivered nor queued: see maillog'
    extra = [q for q in spool_files if q not in used]
    if extra:
        d = os.path.join(out, 'extra')
        os.makedirs(d, exist_ok=True)
        for q in extra:
            for _, p in spool_files[q]:
                shutil.move(p, os.path.join(d, os.path.basename(p)))
    with open(os.path.join(out, 'report.json'), 'w') as fh:
        json.dump({'mta': a.mta, 'messages': results,
                   'extra_deliveries': sorted(extra)}, fh, indent=1)
    cols = ['message', 'status', 'queue_id', 'stage', 'reply', 'delivered', 'note']
    with open(os.path.join(out, 'report.tsv'), 'w') as fh:
        fh.write('\t'.join(cols) + '\n')
        for r in results:
            row = []
            for c in cols:
                v = r.get(c)
                if isinstance(v, list):
                    v = ' '.join(v)
                row.append('' if v is None else str(v).replace('\t', ' '))
            fh.write('\t'.join(row) + '\n')
    print('%s results (%d messages):' % (a.mta, len(results)))
    for r in results:
        if a.quiet and r['status'] == 'delivered':
            continue
        where = ' '.join(r['delivered']) if r['delivered'] else (
            '%s at %s: %s' % (r['status'], r['stage'], r['reply'])
            if r['status'] in ('tempfail', 'rejected', 'error')
            else r.get('note', ''))
        print('  %-30s %-22s %-16s %s' % (r['message'], r['status'],
                                          r.get('queue_id') or '-', where))
    if extra:
        print('  extra deliveries (bounces etc.) in %s/extra: %s'
              % (out, ' '.join(sorted(extra))))
    counts = {}
    for r in results:
        counts[r['status']] = counts.get(r['status'], 0) + 1
    print('  summary: ' + ', '.join('%s %d' % kv for kv in sorted(counts.items())))
    bad = [r for r in results if r['status'] != 'delivered']
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('submit')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--from', dest='mail_from', default='harness-sender@example.test')
    p.add_argument('--rcpt', action='append')
    p.add_argument('--helo', default='harness-client.localdomain')
    p.add_argument('--timeout', type=float, default=330)
    p.add_argument('--jobs', type=int, default=int(os.environ.get('HARNESS_JOBS', '1') or 1),
                   help='parallel SMTP sessions (default $HARNESS_JOBS or 1)')
    p.add_argument('--quiet', action='store_true', help='no per-message line')
    p.add_argument('--kill-pidfile', help='SIGKILL this pid half way through DATA')
    p.add_argument('messages', nargs='+')
    p = sub.add_parser('submit-local')
    p.add_argument('--sendmail', default='/usr/sbin/sendmail')
    p.add_argument('--mta', choices=['postfix', 'sendmail'], default='postfix')
    p.add_argument('--no-rcpt', action='store_true', help='no recipient arguments (sendmail -t)')
    p.add_argument('--msp', action='store_true', help='Sendmail MSP: queue id from the relay line')
    p.add_argument('--config-dir', required=True)
    p.add_argument('--maillog', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--from', dest='mail_from', default='harness-sender@example.test')
    p.add_argument('--rcpt', action='append')
    p.add_argument('--quiet', action='store_true')
    p.add_argument('messages', nargs='+')
    p = sub.add_parser('wait-port')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--timeout', type=float, default=20)
    p = sub.add_parser('collect')
    p.add_argument('--results', required=True)
    p.add_argument('--spool', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--queue-state')
    p.add_argument('--maillog', help='MTA log, to tell discarded/bounced messages apart')
    p.add_argument('--mta', default='MTA')
    p.add_argument('--quiet', action='store_true', help='list only messages not delivered')
    p = sub.add_parser('milter-socket')
    p.add_argument('--style', choices=['postfix', 'sendmail'], required=True)
    p.add_argument('socket')
    a = ap.parse_args()
    return {'submit': cmd_submit, 'submit-local': cmd_submit_local, 'wait-port': cmd_wait_port,
            'collect': cmd_collect, 'milter-socket': cmd_milter_socket}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
