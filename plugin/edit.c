/*
 * edit.c -- the edit list: append, sort, check.  See edit.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "edit.h"

void edit_list_init(struct edit_list *el)
{
	memset(el, 0, sizeof(*el));
}

void edit_list_free(struct edit_list *el)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		free(el->v[i].bytes);
		free(el->v[i].hdr_value);
	}
	free(el->v);
	memset(el, 0, sizeof(*el));
}

struct edit *edit_list_add(struct edit_list *el, size_t start, size_t end)
{
	struct edit *e;

	el->v = array_grow_zeroed(el->v, el->n, &el->cap, 8, sizeof(*el->v));
	e = &el->v[el->n++];
	e->start = start;
	e->end = end;
	e->kind = EDIT_BYTES;
	e->seq = el->n - 1;
	return e;
}

/* Stable order: by start, then zero-width insertions after a replacement that
 * ends there, then by creation order (so added fields keep the order in which
 * the planner made them). */
static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

bool edit_list_finalize(struct edit_list *el)
{
	size_t i;

	if (el->n < 2)
		return true;
	qsort(el->v, el->n, sizeof(*el->v), edit_cmp);
	for (i = 1; i < el->n; i++)
		if (el->v[i].start < el->v[i - 1].end)
			return false;
	return true;
}

bool edit_list_touches_body(const struct edit_list *el, size_t body_start)
{
	size_t i;

	for (i = 0; i < el->n; i++)
		if (el->v[i].end > body_start || el->v[i].start >= body_start)
			if (el->v[i].hdr_op == HDR_NONE)
				return true;
	return false;
}

void edit_list_truncate(struct edit_list *el, size_t n)
{
	while (el->n > n) {
		el->n--;
		free(el->v[el->n].bytes);
		free(el->v[el->n].hdr_value);
	}
}
