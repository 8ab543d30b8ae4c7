#!/usr/bin/env python3
"""postfix-load.py -- 10,000 messages through real Postfix with the milter attached.

The load run of the hardening issue; not part of `make check` (it takes
minutes). A corpus made of the golden-test inputs and the real-MTA corpus,
repeated to N messages (default 10,000; those with bare CRs are left out,
since Postfix itself turns a bare CR into a space), is submitted to a private
loopback Postfix (tests/mta/postfix-run.sh) by J concurrent SMTP clients
(default 20), with codepage-milter attached over inet.  Checked:

  - every message is delivered exactly once (no deferral, no bounce, no
    extra delivery);
  - each delivered message equals `codepage-milter -t` of the same input,
    apart from Postfix's one Received: header (the comparison of tests/mta);
  - the daemon's RSS, sampled every second, at start, peak and end.

Usage (root): tests/load/postfix-load.py --bin BUILD/codepage-milter [-n N] [-j J]
Prints the figures and ends with "N passed, N failed" (one check per message,
plus the RSS check: the end RSS at most 16 MB above the RSS a quarter of the
way into the load -- flat, no growth with the message count).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import json
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'mta'))
import mtlib  # noqa: E402
from mta_test import strip_trace  # noqa: E402


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sources():
    out = []
    gold = os.path.join(TOP, 'tests', 'golden', 'cases')
    for case in sorted(os.listdir(gold)):
        p = os.path.join(gold, case, 'input.eml')
        if os.path.isfile(p):
            out.append((case, p))
    corpus = os.path.join(TOP, 'tests', 'mta', 'corpus')
    for fn in sorted(os.listdir(corpus)):
        out.append((os.path.splitext(fn)[0], os.path.join(corpus, fn)))
    keep = []
    for name, p in out:
        raw = open(p, 'rb').read()
        if b'\r' in raw.replace(b'\r\n', b''):
            continue            # bare CR: Postfix changes it itself
        keep.append((name, p, raw))
    return keep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('-n', type=int, default=10000)
    ap.add_argument('-j', type=int, default=20)
    ap.add_argument('--port', type=int, default=2640)
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix='cpm-load.')
    os.chmod(work, 0o755)
    msgdir, outdir = os.path.join(work, 'msgs'), os.path.join(work, 'out')
    os.mkdir(msgdir)
    src = sources()
    expect = {}
    for name, p, raw in src:
        rc, out, err = mtlib.run_cli(binary, None, mtlib.to_crlf(raw))
        if rc != 0:
            print('codepage-milter -t failed on %s: %s' % (name, err.decode('utf-8', 'replace')))
            return 2
        expect[name] = mtlib.to_lf(out)
    names = {}
    for i in range(a.n):
        name, p, raw = src[i % len(src)]
        fn = '%05d-%s.eml' % (i, name)
        shutil.copyfile(p, os.path.join(msgdir, fn))
        names[fn] = name
    mport = mtlib.free_port()
    spec = 'inet:%d@127.0.0.1' % mport
    daemon = subprocess.Popen([binary, '-f', '-p', spec], stderr=open(os.path.join(work, 'milter.log'), 'wb'))
    mtlib.wait_connectable(spec, proc=daemon)
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((time.time(), rss_kb(daemon.pid)))
            time.sleep(1)
    th = threading.Thread(target=sampler)
    th.start()
    env = dict(os.environ, HARNESS_JOBS=str(a.j), HARNESS_QUIET='1', HARNESS_WAIT='900', PF_PORT=str(a.port))
    t0 = time.time()
    rc = subprocess.run([os.path.join(TOP, 'tests', 'mta', 'postfix-run.sh'), spec, msgdir, outdir,
                         '--default-action', 'tempfail', '--port', str(a.port)], env=env).returncode
    elapsed = time.time() - t0
    stop.set()
    th.join()
    daemon.terminate()
    daemon.wait(timeout=60)
    rj = json.load(open(os.path.join(outdir, 'report.json')))
    report = {m['message']: m for m in rj['messages']}
    extra = rj.get('extra_deliveries', [])
    passed = failed = 0
    delivered = equal = 0
    for fn in sorted(names):
        m = report.get(fn)
        ok = m is not None and m.get('status') == 'delivered'
        if ok:
            delivered += 1
            got, had_trace = strip_trace(open(os.path.join(outdir, 'delivered', fn), 'rb').read())
            ok = had_trace and got == expect[names[fn]]
            equal += ok
        if ok:
            passed += 1
        else:
            failed += 1
            if failed <= 10:
                print('FAIL %s: %s' % (fn, json.dumps(m)[:300] if m else 'no report'))
    rss = [r for _, r in samples if r > 0]
    first = rss[len(rss) // 4] if rss else 0       # a quarter into the load: warmed up
    end = rss[-1] if rss else 0
    rss_ok = bool(rss) and end <= first + 16 * 1024
    print('messages sent %d, delivered %d, equal to the CLI repair %d, extra deliveries %d'
          % (a.n, delivered, equal, len(extra)))
    print('elapsed %.1f s (%.0f msgs/s through Postfix, %d SMTP clients); harness exit %d'
          % (elapsed, a.n / elapsed if elapsed else 0, a.j, rc))
    print('daemon RSS: start %.1f MB, a quarter in %.1f MB, peak %.1f MB, end %.1f MB (%d samples)'
          % (rss[0] / 1024 if rss else 0, first / 1024, max(rss) / 1024 if rss else 0, end / 1024, len(rss)))
    if len(extra) > 0:
        failed += 1
    if rss_ok:
        passed += 1
    else:
        failed += 1
        print('FAIL daemon RSS grew')
    print('work directory: %s' % work)
    print('%d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
