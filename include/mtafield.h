/*
 * mtafield.h -- header fields between libmilter's form and the wire form,
 * and the message's log key from the fields the MTA passes.
 *
 * libmilter hands the milter a header field as a name and a value whose
 * lines are joined by bare LF, with or without the space after the colon
 * (SMFIP_HDR_LEADSPC); the engine reads a field as it stands in the message,
 * "Name: value" CRLF.  These functions translate both ways; they know
 * nothing of libmilter itself, so the unit tests run them without an MTA.
 */
#ifndef CPM_MTAFIELD_H
#define CPM_MTAFIELD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * The field "name:value CRLF" in wire form into f (reset first): every LF
 * not already after a CR becomes CRLF; without leadspc the space libmilter
 * took off after the colon is put back.  0, or -1 when f's cap is reached.
 */
int mtafield_to_wire(struct buf *f, const char *name, const char *value, bool leadspc);

/*
 * The engine's value (after the colon, CRLF between folded lines) in the
 * form the MTA takes back: LF between lines (a CR left in would reach the
 * delivered message), and without leadspc no leading space.  Malloc'd
 * (xmalloc: never NULL).
 */
char *mtafield_from_wire(const char *value, bool leadspc);

/*
 * The queue id in a Received: field value: the token after a whole word
 * "id" (Postfix: "... with ESMTP id 4jg9jz1HdBz1bdHx; ..."), letters,
 * digits and ".-_" only, cut to cap - 1 bytes; "" when there is none.
 */
void mtafield_received_id(const char *value, char *id, size_t cap);

/* A Message-ID value without its white space, cut to cap - 1 bytes (the
 * logger sanitizes what it prints). */
void mtafield_message_id(const char *value, char *id, size_t cap);

/*
 * The first From:, X-Mailer: and User-Agent: values of a message, kept as
 * the engine will read them (wire form, after the colon, without the final
 * CRLF): the sender memory's keys, for its lookup begun at end of header.
 */
struct mtafield_source {
	char *from, *x_mailer, *user_agent;	/* malloc'd, NULL until seen */
};
/* Keep field (wire form, "name:" value CRLF, as mtafield_to_wire wrote it)
 * when it is the first of its name that counts. */
void mtafield_source_keep(struct mtafield_source *src, const char *name, const struct buf *field);
/* X-Mailer:, else User-Agent: (the engine's order), or NULL. */
const char *mtafield_source_mailer(const struct mtafield_source *src);
void mtafield_source_free(struct mtafield_source *src);

#endif
