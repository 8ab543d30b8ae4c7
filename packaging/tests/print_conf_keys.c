/*
 * print_conf_keys.c -- the configuration keys the parser accepts, and the
 * documentation generated from them.
 *
 *   print_conf_keys                  one line per conf_keys[] row (include/conf.h):
 *                                    "Name<TAB>default<TAB>repeatable|single"
 *   print_conf_keys --man FILE       FILE (codepage-milter.conf.5) with the lines between
 *                                    its KEYS markers replaced by the KEYS section
 *   print_conf_keys --example FILE   FILE (the example configuration) with the lines
 *                                    between its KEYS markers replaced by every key
 *
 * The result goes to standard output; `make regen-conf-docs` writes it over
 * the committed files and packaging/tests/conf-docs.test fails when they
 * differ from it.  The text comes from conf_sections[] and conf_keys[]
 * (plugin/conf.c), whose markup is *literal* (bold) and <placeholder>
 * (italic).  In the manual every '-' is written \- and each sentence starts
 * a new source line (a double space after a sentence in the table marks
 * it), as mandoc -Tlint and groff -ww want; the example shows the text plain,
 * wrapped under "## ".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define MAN_BEGIN	".\\\" BEGIN KEYS"
#define MAN_END		".\\\" END KEYS"
#define EXAMPLE_BEGIN	"##@ BEGIN KEYS"
#define EXAMPLE_END	"##@ END KEYS"
#define TEMPLATE_MAX	(1024 * 1024)
#define ROFF_WIDTH	76	/* source line length the manual is wrapped at */
#define EXAMPLE_WIDTH	78
#define EXAMPLE_VALUE_COL 24	/* "#Key" padded to here, then the value */

/* ---- text in the manual ----------------------------------------------------- */

struct roff_line {
	FILE *out;
	size_t col;		/* characters on the current source line */
};

/* One character of table text as roff; markup toggles fonts. */
static void roff_char(FILE *out, char c, bool *bold, bool *italic)
{
	switch (c) {
	case '*':
		fputs(*bold ? "\\fR" : "\\fB", out);
		*bold = !*bold;
		return;
	case '<':
		fputs("\\fI", out);
		*italic = true;
		return;
	case '>':
		fputs("\\fR", out);
		*italic = false;
		return;
	case '-':
		fputs("\\-", out);
		return;
	case '\\':
		fputs("\\e", out);
		return;
	default:
		fputc(c, out);
	}
}

/* Write one word; a source line never starts with a control character. */
static void roff_word(struct roff_line *l, const char *w, size_t n, bool *bold, bool *italic)
{
	size_t i;

	if (l->col > 0 && l->col + 1 + n > ROFF_WIDTH) {
		fputc('\n', l->out);
		l->col = 0;
	} else if (l->col > 0) {
		fputc(' ', l->out);
		l->col++;
	}
	if (l->col == 0 && (w[0] == '.' || w[0] == '\''))
		fputs("\\&", l->out);
	for (i = 0; i < n; i++)
		roff_char(l->out, w[i], bold, italic);
	l->col += n;
}

/* A paragraph of table text as roff source lines, one sentence per line. */
static void roff_text(FILE *out, const char *text)
{
	struct roff_line l = { out, 0 };
	bool bold = false, italic = false;
	const char *p = text;

	while (*p != '\0') {
		const char *w = p;

		while (*p != '\0' && *p != ' ')
			p++;
		if (p > w)
			roff_word(&l, w, (size_t)(p - w), &bold, &italic);
		if (p[0] == ' ' && p[1] == ' ' && l.col > 0) {
			fputc('\n', out);	/* end of a sentence */
			l.col = 0;
		}
		while (*p == ' ')
			p++;
	}
	if (l.col > 0)
		fputc('\n', out);
	if (bold || italic) {
		fprintf(stderr, "print_conf_keys: unbalanced markup in: %s\n", text);
		exit(EXIT_FAILURE);
	}
}

/* A value as a quoted macro argument: '-' escaped, syntax marks in roman. */
static void roff_syntax(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '|' || *s == '[' || *s == ']')
			fprintf(out, "\\fR%c\\fP", *s);
		else if (strncmp(s, "...", 3) == 0) {
			fputs("\\fR...\\fP", out);
			s += 2;
		} else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '"')
			fputs("\\(dq", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

static void man_key(FILE *out, const struct conf_key_info *k)
{
	fprintf(out, ".TP\n.BI \"%s \" ", k->name);
	roff_syntax(out, k->syntax);
	fputc('\n', out);
	if (k->repeatable)
		fputs(".IR Repeatable .\n", out);
	roff_text(out, k->doc);
	if (k->default_text == NULL) {
		fputs("Default: none.\n", out);
		return;
	}
	fputs("Default:\n.BR ", out);
	roff_syntax(out, k->default_text);
	fputs(" .\n", out);
}

static void man_keys(FILE *out)
{
	size_t s, i;

	fputs(".SH KEYS\n", out);
	for (s = 0; s < conf_nsections; s++) {
		fprintf(out, ".SS %s\n", conf_sections[s].title);
		if (conf_sections[s].intro != NULL)
			roff_text(out, conf_sections[s].intro);
		for (i = 0; i < conf_nkeys; i++)
			if ((size_t)conf_keys[i].section == s)
				man_key(out, &conf_keys[i]);
	}
}

/* ---- text in the example configuration ----------------------------------------- */

/* A paragraph as "## " comment lines, markup dropped. */
static void example_text(FILE *out, const char *text)
{
	char plain[4096];
	size_t n = 0, col = 0;
	bool sentence_gap = false;
	const char *p;

	for (p = text; *p != '\0' && n < sizeof(plain) - 1; p++)
		if (*p != '*' && *p != '<' && *p != '>')
			plain[n++] = *p;
	plain[n] = '\0';
	for (p = plain; *p != '\0';) {
		const char *w = p, *gap;
		size_t len;

		while (*p != '\0' && *p != ' ')
			p++;
		len = (size_t)(p - w);
		if (col > 0 && col + 1 + sentence_gap + len > EXAMPLE_WIDTH) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0)
			col = (size_t)fprintf(out, "##");
		else if (sentence_gap)
			col += (size_t)fprintf(out, " ");	/* two spaces after a sentence */
		col += (size_t)fprintf(out, " %.*s", (int)len, w);
		for (gap = p; *p == ' '; p++)
			;
		sentence_gap = p - gap > 1;
	}
	if (col > 0)
		fputc('\n', out);
}

static void example_key(FILE *out, const struct conf_key_info *k)
{
	const char *value = k->default_text != NULL ? k->default_text : k->example;
	char doc[4096];

	if (value == NULL) {
		fprintf(stderr, "print_conf_keys: %s has neither a default nor an example value\n",
		    k->name);
		exit(EXIT_FAILURE);
	}
	snprintf(doc, sizeof(doc), "%s%s%s", k->repeatable ? "Repeatable.  " : "", k->doc,
	    k->default_text == NULL ? "  Default: none; the value below is an example." : "");
	fputc('\n', out);
	example_text(out, doc);
	fprintf(out, "#%-*s %s\n", EXAMPLE_VALUE_COL - 2, k->name, value);
}

static void example_keys(FILE *out)
{
	size_t s, i, n;

	for (s = 0; s < conf_nsections; s++) {
		n = (size_t)fprintf(out, "\n## ---- %s ", conf_sections[s].title) - 1;
		for (; n < EXAMPLE_WIDTH; n++)
			fputc('-', out);
		fputc('\n', out);
		if (conf_sections[s].intro != NULL) {
			fputc('\n', out);
			example_text(out, conf_sections[s].intro);
		}
		for (i = 0; i < conf_nkeys; i++)
			if ((size_t)conf_keys[i].section == s)
				example_key(out, &conf_keys[i]);
	}
	fputc('\n', out);
}

/* ---- templates ---------------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = malloc(TEMPLATE_MAX + 1);
	size_t n;

	if (f == NULL || text == NULL) {
		fprintf(stderr, "print_conf_keys: %s: %s\n", path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	n = fread(text, 1, TEMPLATE_MAX + 1, f);
	fclose(f);
	if (n > TEMPLATE_MAX) {
		fprintf(stderr, "print_conf_keys: %s: larger than %d bytes\n", path, TEMPLATE_MAX);
		exit(EXIT_FAILURE);
	}
	text[n] = '\0';
	return text;
}

/* The start of the line that begins with marker, or NULL. */
static char *find_line(char *text, const char *marker)
{
	char *p = text;

	for (;;) {
		if (strncmp(p, marker, strlen(marker)) == 0)
			return p;
		p = strchr(p, '\n');
		if (p == NULL)
			return NULL;
		p++;
	}
}

/* The template up to and including its begin line, generated text, the rest
 * from its end line on. */
static int regenerate(const char *path, const char *begin, const char *end, void (*gen)(FILE *))
{
	char *text = read_file(path), *b = find_line(text, begin), *e, *after_b;

	e = b != NULL ? find_line(b, end) : NULL;
	after_b = b != NULL ? strchr(b, '\n') : NULL;
	if (b == NULL || e == NULL || after_b == NULL) {
		fprintf(stderr, "print_conf_keys: %s: no \"%s\" ... \"%s\" lines\n", path, begin, end);
		return EXIT_FAILURE;
	}
	fwrite(text, 1, (size_t)(after_b + 1 - text), stdout);
	gen(stdout);
	fputs(e, stdout);
	free(text);
	return EXIT_SUCCESS;
}

static int print_table(void)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key_info *key = &conf_keys[i];

		printf("%s\t%s\t%s\n", key->name,
		    key->default_text != NULL ? key->default_text : "",
		    key->repeatable ? "repeatable" : "single");
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc == 1)
		rc = print_table();
	else if (argc == 3 && strcmp(argv[1], "--man") == 0)
		rc = regenerate(argv[2], MAN_BEGIN, MAN_END, man_keys);
	else if (argc == 3 && strcmp(argv[1], "--example") == 0)
		rc = regenerate(argv[2], EXAMPLE_BEGIN, EXAMPLE_END, example_keys);
	else {
		fprintf(stderr, "usage: print_conf_keys [--man FILE | --example FILE]\n");
		return 2;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_FAILURE;
	return rc;
}
