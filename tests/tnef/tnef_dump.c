/*
 * tnef_dump.c -- print what the TNEF reader finds in files, one line each.
 *
 * Usage: tnef_dump [-b BUDGET] [-c CHUNK] FILE...
 * Each file is fed to the reader CHUNK bytes at a time (default: the whole
 * file at once; 1 feeds byte by byte), so tests can check that chunking does
 * not change the result.  Output, tab-separated:
 *   FILE oem=N|- oem2=N|- cpid=N|- mcp=N|- lcid=N|- body=none|string8|unicode
 *   unverified=HEX attrs=N badsum=N titles=N[:HEX,...] stopped=0|1 note=TEXT
 * Used by tests/tnef/samples.test (the shared samples against their manifest)
 * and tests/tnef/writer.test (our writer's fixtures).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tnef.h"

static void
print_num(const char *name, bool has, unsigned v)
{
	if (has)
		printf("\t%s=%u", name, v);
	else
		printf("\t%s=-", name);
}

static void
print_evidence(const char *file, const struct tnef_evidence *ev)
{
	static const char *const body[] = { "none", "string8", "unicode" };

	printf("%s", file);
	print_num("oem", ev->has_oem, ev->oem_codepage);
	print_num("oem2", ev->has_oem, ev->oem_secondary);
	print_num("cpid", ev->has_internet_cpid, ev->internet_cpid);
	print_num("mcp", ev->has_message_codepage, ev->message_codepage);
	print_num("lcid", ev->has_locale_id, ev->locale_id);
	printf("\tunverified=%x", ev->unverified);
	printf("\tbody=%s\tattrs=%u\tbadsum=%u\ttitles=%zu", body[ev->body], ev->attributes,
	       ev->bad_checksums, ev->titles_seen);
	for (size_t i = 0; i < ev->ntitles; i++) {
		printf("%c", i == 0 ? ':' : ',');
		for (size_t k = 0; k < ev->titles[i].len; k++)
			printf("%02x", ev->titles[i].bytes[k]);
	}
	printf("\tstopped=%d\tnote=%s\n", ev->stopped ? 1 : 0, ev->note);
}

static int
dump(const char *file, size_t budget, size_t chunk)
{
	FILE *fp = fopen(file, "rb");
	struct tnef_reader *r;
	char buf[65536];
	size_t n;

	if (fp == NULL) {
		perror(file);
		return -1;
	}
	r = tnef_reader_new(budget);
	if (chunk == 0 || chunk > sizeof(buf))
		chunk = sizeof(buf);
	while ((n = fread(buf, 1, chunk, fp)) > 0)
		tnef_reader_feed(r, buf, n);
	fclose(fp);
	tnef_reader_finish(r);
	print_evidence(file, tnef_reader_evidence(r));
	tnef_reader_free(r);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t budget = 0, chunk = 0;
	int c, status = 0;

	while ((c = getopt(argc, argv, "b:c:")) != -1) {
		if (c == 'b')
			budget = strtoul(optarg, NULL, 10);
		else if (c == 'c')
			chunk = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	for (int i = optind; i < argc; i++)
		if (dump(argv[i], budget, chunk) < 0)
			status = 1;
	return status;
}
