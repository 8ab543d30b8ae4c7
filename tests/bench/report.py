#!/usr/bin/python3
# report.py -- turn the raw results of tests/bench/run.sh into RESULTS.md.
#
# Usage: report.py RESULTS_DIR > RESULTS.md
# Reads machine.txt, engine.txt, milter.txt, peers.txt, postfix.txt, sendmail.txt, offline.txt,
# memory.txt, rss-*.txt and profile-*.txt (all written by run.sh), computes
# every ratio from the figures of this one run, and checks each target of
# issue 5.  Appends tests/bench/profile-notes.md (the hand-written verdicts of
# the profiles) when present.
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def kv_lines(path, prefix=None):
	rows = []
	if not os.path.exists(path):
		return rows
	for line in open(path, encoding="utf-8", errors="replace"):
		line = line.strip()
		if prefix is not None:
			if not line.startswith(prefix):
				continue
			line = line[len(prefix):]
		d = dict(m.groups() for m in re.finditer(r"(\w+)=(\S+)", line))
		if d:
			rows.append(d)
	return rows


def num(d, k, default=0.0):
	try:
		return float(d.get(k, default))
	except (TypeError, ValueError):
		return default


def by_label(rows):
	return {r.get("label"): r for r in rows if "label" in r}


def verdict(ok):
	return "**hit**" if ok else "**MISS**"


def rss_trend(rdir, conns, p, targets):
	"""Summarize rss-10k-CONNS.txt: RSS along the run and its trend after warm-up."""
	samples = []
	path = os.path.join(rdir, "rss-10k-%s.txt" % conns)
	if not os.path.exists(path):
		return
	for line in open(path):
		f = line.split()
		if len(f) == 3 and int(f[1]) > 0:
			samples.append((float(f[0]), int(f[1]), int(f[2])))
	if not samples:
		return
	total = samples[-1][2]

	def rss_at(frac):
		want = total * frac
		for t, kb, done in samples:
			if done >= want:
				return kb
		return samples[-1][1]
	pts = [(f, rss_at(f)) for f in (0.10, 0.25, 0.50, 0.75, 0.90)]
	last = samples[-1][1]
	p("")
	p("**%s connection(s)**, %d messages (connections reopened every 50), RSS sampled every 200 ms "
	  "(%d samples): %s, at the end %.1f MB, max %.1f MB." % (conns, total, len(samples),
		", ".join("after %d%% %.1f MB" % (f * 100, kb / 1024) for f, kb in pts),
		last / 1024, max(s[1] for s in samples) / 1024))
	after = [x for x in samples if x[2] >= 0.25 * total]
	if len(after) < 3:
		return
	mx = sum(x[2] for x in after) / len(after)
	my = sum(x[1] for x in after) / len(after)
	den = sum((x[2] - mx) ** 2 for x in after)
	slope = sum((x[2] - mx) * (x[1] - my) for x in after) / den if den else 0.0
	span = after[-1][2] - after[0][2]
	growth = slope * span / 1024
	p("After warm-up (the first quarter) RSS stays between %.1f and %.1f MB; its least-squares trend "
	  "is %+.3f MB per 1,000 messages, %+.2f MB over the last %d messages." % (
		min(x[1] for x in after) / 1024, max(x[1] for x in after) / 1024,
		slope * 1000 / 1024, growth, span))
	targets.append(("RSS flat over %d messages, %s conn(s) (trend after warm-up <= 2 MB)" % (total, conns),
			"%+.2f MB" % growth, growth <= 2.0))


def main():
	rdir = sys.argv[1]
	out = []
	p = out.append
	targets = []

	machine = {}
	for line in open(os.path.join(rdir, "machine.txt"), encoding="utf-8"):
		if "=" in line:
			k, v = line.rstrip("\n").split("=", 1)
			machine[k] = v
	p("# codepage-milter benchmark results")
	p("")
	p("Written by `tests/bench/run.sh` (see README, *Benchmarks*); every ratio below compares figures "
	  "measured in the same run on the same machine%s." %
	  (" (**--quick run**: fewer repetitions)" if machine.get("quick") == "1" else ""))
	p("")
	p("| machine | |")
	p("| --- | --- |")
	for k in ("cpu", "cores", "memory", "kernel", "os", "virt", "perf_instructions", "postfix",
		  "mimedefang", "pymilter", "libmilter", "commit", "date", "loadavg", "total_seconds"):
		if k in machine:
			p("| %s | %s |" % (k.replace("_", " "), machine[k]))
	p("")

	# ---- engine
	eng = {r["workload"]: r for r in kv_lines(os.path.join(rdir, "engine.txt"), "kv ")}
	p("## 1. Engine throughput, single thread")
	p("")
	p("Median of the repetitions; noise = (max-min)/median.  Ceilings run interleaved with the engine "
	  "on the same bytes: memchr+memcpy over every message, glibc iconv of every 8-bit text part to "
	  "UTF-8.  MB/s are message bytes per second for every row, so a ratio is ceiling time / engine time.")
	p("")
	p("| workload | msgs | MB | engine MB/s | msgs/s | noise | memchr+memcpy MB/s (noise) | engine/memchr | iconv MB/s (noise) | engine/iconv | best-of: engine MB/s, /memchr, /iconv |")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for w in ("pass-thru", "label", "transcode"):
		r = eng.get(w)
		if r is None:
			continue
		p("| %s | %d | %.1f | %.1f | %.0f | %.0f%% | %.0f (%.0f%%) | %.3f | %s | %s | %.1f, %.3f%s |" % (
			w, num(r, "msgs"), num(r, "mb"), num(r, "eng_mbps"), num(r, "eng_msgs"),
			num(r, "eng_noise"), num(r, "memchr_mbps"), num(r, "memchr_noise"), num(r, "ratio_memchr"),
			"%.0f (%.0f%%)" % (num(r, "iconv_mbps"), num(r, "iconv_noise")) if "iconv_mbps" in r else "",
			"%.3f" % num(r, "ratio_iconv") if "ratio_iconv" in r else "",
			num(r, "best_eng_mbps"), num(r, "best_ratio_memchr"),
			", %.3f" % num(r, "best_ratio_iconv") if "best_ratio_iconv" in r else ""))
	p("")
	p("Load average when the run started: %s (this machine is shared; \"best-of\" sums, per message, "
	  "the fastest of the repetitions, the better estimate of undisturbed time)." % machine.get("loadavg", "?"))
	p("")
	if "pass-thru" in eng:
		v = num(eng["pass-thru"], "ratio_memchr")
		b = num(eng["pass-thru"], "best_ratio_memchr")
		targets.append(("pass-through >= 1/4 of the memchr+memcpy ceiling (median; best-of)",
				"%.3f; %.3f" % (v, b), v >= 0.25))
	if "transcode" in eng:
		v = num(eng["transcode"], "ratio_iconv")
		b = num(eng["transcode"], "best_ratio_iconv")
		targets.append(("transcoding >= 1/2 of raw iconv (median; best-of)", "%.3f; %.3f" % (v, b), v >= 0.5))

	# ---- milter
	mil = by_label(kv_lines(os.path.join(rdir, "milter.txt")))
	p("## 2. Milter throughput against the accept-everything ceiling")
	p("")
	p("`milter_load` (C, Postfix-faithful: plain blocking sockets, no TCP_NODELAY/QUICKACK, "
	  "VSTREAM-like buffering) sends the clean+label messages, 10 per connection; each milter is "
	  "restarted for each row, so peak RSS (VmHWM) is that row's.  The ceiling is "
	  "`accept_milter` (libmilter, no work, ACCEPT at end of message; it asks for no reply to any step "
	  "but MAIL FROM and end of message, where codepage-milter answers every step over TCP and all but connect, "
	  "HELO, header fields and end of header on a unix socket, where it also asks for no DATA step; "
	  "the same listener socket options).")
	p("")
	p("| socket | conns | ceiling msgs/s | codepage-milter msgs/s | ratio | ceiling p50/p99 ms | cpm p50/p99 ms | cpm peak RSS | modified | errors | client CPU |")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for st in ("unix", "inet"):
		for c in ("1", "4", "16", "64"):
			a = mil.get("accept/%s/%s" % (st, c))
			m = mil.get("cpm/%s/%s" % (st, c))
			if a is None or m is None:
				continue
			ratio = num(m, "msgs_per_s") / num(a, "msgs_per_s", 1) if num(a, "msgs_per_s") else 0
			p("| %s | %s | %.0f | %.0f | %.2f | %.2f / %.1f | %.2f / %.1f | %.1f MB | %d | %d | %s%% |" % (
				st, c, num(a, "msgs_per_s"), num(m, "msgs_per_s"), ratio,
				num(a, "p50_ms"), num(a, "p99_ms"), num(m, "p50_ms"), num(m, "p99_ms"),
				num(m, "hwm_kb") / 1024, num(m, "modified"), num(m, "errors") + num(a, "errors"),
				m.get("client_cpu_pct", "?")))
			targets.append(("milter >= 0.8x accept-everything, %s, %s conn" % (st, c),
					"%.2f" % ratio, ratio >= 0.8))
	p("")

	# ---- peers
	peers = by_label(kv_lines(os.path.join(rdir, "peers.txt")))
	p("## 3. Peers doing the same labelling job")
	p("")
	p("MIMEDefang (`tests/bench/mimedefang-filter`) and pymilter (`tests/bench/pymilter_labeller.py`) "
	  "label unlabelled 8-bit text parts windows-1252; codepage-milter runs its default Mode label "
	  "(detection, labelling, RFC 2047 header repair).  Same messages, same client, same socket.")
	p("")
	p("| socket | conns | codepage-milter msgs/s | pymilter msgs/s | MIMEDefang msgs/s | cpm/pymilter | cpm/MIMEDefang | p50 ms cpm / pym / MD | p99 ms cpm / pym / MD | errors cpm/pym/MD |")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for st in ("unix", "inet"):
		for c in ("1", "4"):
			m = peers.get("cpm/%s/%s" % (st, c))
			y = peers.get("pymilter/%s/%s" % (st, c))
			d = peers.get("mimedefang/%s/%s" % (st, c))
			if m is None or y is None or d is None:
				continue
			ry = num(m, "msgs_per_s") / num(y, "msgs_per_s") if num(y, "msgs_per_s") else float("inf")
			rd = num(m, "msgs_per_s") / num(d, "msgs_per_s") if num(d, "msgs_per_s") else float("inf")
			p("| %s | %s | %.0f | %.0f | %.0f | %.1f | %.1f | %.2f / %.2f / %.2f | %.1f / %.1f / %.1f | %d / %d / %d |" % (
				st, c, num(m, "msgs_per_s"), num(y, "msgs_per_s"), num(d, "msgs_per_s"), ry, rd,
				num(m, "p50_ms"), num(y, "p50_ms"), num(d, "p50_ms"),
				num(m, "p99_ms"), num(y, "p99_ms"), num(d, "p99_ms"),
				num(m, "errors"), num(y, "errors"), num(d, "errors")))
			if c == "1":
				targets.append((">= 20x MIMEDefang, %s, 1 conn" % st, "%.1f" % rd, rd >= 20))
				targets.append((">= 10x pymilter, %s, 1 conn" % st, "%.1f" % ry, ry >= 10))
	p("")

	stall = by_label(kv_lines(os.path.join(rdir, "stall.txt")))
	if stall:
		p("**The end-of-message reply stall, isolated** (inet, 1 connection, only messages that need a "
		  "label and are < 100 KB, so the client sends each in one write): a milter that answers "
		  "with several replies and leaves Nagle on waits for the client's delayed ACK, ~40 ms.")
		p("")
		p("| milter | msgs/s | modified | p50 ms | p99 ms |")
		p("| --- | ---: | ---: | ---: | ---: |")
		for k, name in (("accept/inet/1", "accept-everything (1 reply)"), ("cpm/inet/1", "codepage-milter"),
				("pymilter/inet/1", "pymilter"), ("mimedefang/inet/1", "MIMEDefang")):
			r = stall.get(k)
			if r is None:
				continue
			p("| %s | %.0f | %d/%d | %.2f | %.2f |" % (name, num(r, "msgs_per_s"), num(r, "modified"),
				num(r, "messages"), num(r, "p50_ms"), num(r, "p99_ms")))
		m = stall.get("cpm/inet/1")
		if m is not None:
			targets.append(("no reply stall on inet (codepage-milter p50 < 5 ms on labelled mail)",
					"%.2f ms" % num(m, "p50_ms"), num(m, "p50_ms") < 5 and num(m, "modified") > 0))
		p("")

	# ---- postfix, sendmail
	def mta_section(title, fname, mta, intro):
		rows = kv_lines(os.path.join(rdir, fname))
		p(title)
		p("")
		p(intro)
		p("")
		if not rows:
			p("(no %s rows in this run)" % mta)
			p("")
			return
		p("| run | delivered/expected | seconds | msgs/s | vs %s alone (neighbours) | vs accept-everything, same socket |" % mta)
		p("| --- | ---: | ---: | ---: | ---: | ---: |")
		rate = {}
		for r in rows:
			rate[r.get("label", "")] = num(r, "msgs_per_s")
		for i, r in enumerate(rows):
			lab = r.get("label", "")
			vs_none = vs_acc = ""
			if not lab.startswith("none"):
				nb = [num(rows[j], "msgs_per_s") for j in (i - 1, i + 1)
				      if 0 <= j < len(rows) and rows[j].get("label", "").startswith("none")]
				base = sum(nb) / len(nb) if nb else 0
				ratio = num(r, "msgs_per_s") / base if base else 0
				vs_none = "%.2f" % ratio
				sock = lab.split("/")[-1]
				if lab.startswith("cpm/") and rate.get("accept/" + sock):
					vs_acc = "%.2f" % (num(r, "msgs_per_s") / rate["accept/" + sock])
				if lab.startswith("cpm/"):
					ok = ratio >= 0.8 and num(r, "delivered") == num(r, "expected")
					targets.append(("%s with the milter >= 0.8x %s alone (%s)" % (mta, mta, sock),
							"%.2f" % ratio, ok))
			p("| %s | %d/%d | %.2f | %.1f | %s | %s |" % (
				lab, num(r, "delivered"), num(r, "expected"), num(r, "total_s"), num(r, "msgs_per_s"),
				vs_none, vs_acc))
		p("")

	mta_section("## 4. Through real Postfix", "postfix.txt", "Postfix",
		    "Private Postfix %s on loopback, discard(8) delivery, the clean+label messages submitted by 8 "
		    "parallel smtplib processes, one SMTP session per message; msgs/s = delivered / (first "
		    "connection .. queue empty).  Every milter run sits between two runs of Postfix alone and is "
		    "compared with their mean (Postfix's own rate drifts with the machine's load)." %
		    machine.get("postfix", ""))
	mta_section("## 4b. Through real Sendmail", "sendmail.txt", "Sendmail",
		    "Private Sendmail 8.17 (tests/mta/sendmail-run.sh) on loopback, delivery through the "
		    "harness's capture mailer (one process per message, the same with or without a milter), "
		    "the same messages over 8 parallel SMTP sessions; msgs/s = delivered / (submit + queue "
		    "drain).  Interleaved with runs of Sendmail alone as for Postfix.")

	# ---- offline, whole process
	off = kv_lines(os.path.join(rdir, "offline.txt"))
	if off:
		def med(key):
			v = sorted(num(r, key) for r in off)
			return v[len(v) // 2]
		p("## 4c. Offline, whole process")
		p("")
		p("`codepage-milter -t` on one 200 MB clean UTF-8 message and on a 50 MB unlabelled "
		  "windows-1252 body (Mode transcode), against `wc -l` / `cat` over the same 200 MB and "
		  "`iconv -f WINDOWS-1252 -t UTF-8` over the same 50 MB body; page cache, output to "
		  "/dev/null, medians of %d interleaved repetitions (seconds)." % len(off))
		p("")
		p("| run | seconds | x wc -l | x cat | x iconv |")
		p("| --- | ---: | ---: | ---: | ---: |")
		wc, cat, ic = med("wc"), med("cat"), med("iconv")
		for key, what in (("wc", "wc -l, 200 MB"), ("cat", "cat, 200 MB"),
				  ("cpm_default", "codepage-milter -t, 200 MB, defaults (over MaxMessageSize: copied unscanned)"),
				  ("cpm_scan", "codepage-milter -t, 200 MB, MaxMessageSize 300M (every byte scanned)"),
				  ("iconv", "iconv, 50 MB"), ("cpm_transcode", "codepage-milter -t, 50 MB, Mode transcode")):
			t = med(key)
			if key.startswith("cpm_transcode") or key == "iconv":
				p("| %s | %.3f | | | %s |" % (what, t, "%.2f" % (t / ic) if ic else ""))
			else:
				p("| %s | %.3f | %s | %s | |" % (what, t, "%.2f" % (t / wc) if wc else "",
							       "%.2f" % (t / cat) if cat else ""))
		p("")
		targets.append(("offline pass-through of a 200 MB clean message <= 2.5x a memchr pass (defaults)",
				"%.2fx" % (med("cpm_default") / wc if wc else 0), wc > 0 and med("cpm_default") <= 2.5 * wc))
		targets.append(("offline pass-through of a 200 MB clean message <= 2.5x a memchr pass (every byte scanned)",
				"%.2fx" % (med("cpm_scan") / wc if wc else 0), wc > 0 and med("cpm_scan") <= 2.5 * wc))
		targets.append(("transcoding a 50 MB legacy body <= 1.5x raw iconv",
				"%.2fx" % (med("cpm_transcode") / ic if ic else 0), ic > 0 and med("cpm_transcode") <= 1.5 * ic))

	# ---- memory
	mem = kv_lines(os.path.join(rdir, "memory.txt"))
	p("## 5. Memory")
	p("")
	p("| run | messages | errors | peak RSS (VmHWM) | sampled max RSS | bound: conns x SpoolThreshold |")
	p("| --- | ---: | ---: | ---: | ---: | ---: |")
	for r in mem:
		lab = r.get("label", "")
		bound = ""
		mt = re.search(r"threshold=(\d+)M", lab)
		if mt:
			b = int(r.get("conns", "0")) * int(mt.group(1))
			bound = "%d MB" % b
			hwm = num(r, "hwm_kb") / 1024
			targets.append(("RSS bounded by ~conns x threshold (%s)" % lab, "%.0f MB vs %d MB" % (hwm, b),
					hwm <= 1.5 * b + 16 and num(r, "errors") == 0))
		if lab == "10k/64conns":
			hwm = num(r, "hwm_kb") / 1024
			targets.append(("RSS at 64 concurrent connections <= 64 MB (SpoolThreshold 1M, VmHWM)",
					"%.1f MB" % hwm, hwm <= 64 and num(r, "errors") == 0))
		p("| %s | %d | %d | %.1f MB | %.1f MB | %s |" % (
			lab, num(r, "messages"), num(r, "errors"), num(r, "hwm_kb") / 1024,
			num(r, "sampled_max_kb") / 1024, bound))
	for conns in ("1", "16", "64"):
		rss_trend(rdir, conns, p, targets)
	p("")

	# ---- targets
	p("## Targets")
	p("")
	p("| target | measured | |")
	p("| --- | ---: | --- |")
	for name, val, ok in targets:
		p("| %s | %s | %s |" % (name, val, verdict(ok)))
	p("")

	# ---- profiles (automatic) and verdicts (hand-written)
	profs = sorted(f for f in os.listdir(rdir) if f.startswith("profile-") and f.endswith(".txt"))
	if profs:
		p("## Profiles recorded in this run")
		p("")
		for f in profs:
			p("`%s` (perf record, cpu-clock samples, self time):" % f[len("profile-"):-4])
			p("")
			p("```")
			for line in open(os.path.join(rdir, f), encoding="utf-8", errors="replace"):
				p(line.rstrip("\n"))
			p("```")
			p("")
	notes = os.path.join(HERE, "profile-notes.md")
	if os.path.exists(notes):
		p(open(notes, encoding="utf-8").read().rstrip("\n"))
		p("")
	print("\n".join(out))
	return 0


if __name__ == "__main__":
	sys.exit(main())
