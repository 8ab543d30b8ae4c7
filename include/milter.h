/*
 * milter.h -- the libmilter adapter: callbacks that turn milter events into
 * engine calls and the edit list back into smfi_* calls.  Nothing else.
 *
 * Negotiation: actions CHGHDRS|ADDHDRS|CHGBODY (SETSYMLIST when offered,
 * to ask for the queue id {i} at end of message and no other macro);
 * steps: header values with their leading space (HDR_LEADSPC) when offered,
 * no RCPT/unknown commands.  Every other step is answered, and inet
 * listeners get TCP_NODELAY (inherited by accepted sockets on Linux): all
 * of it to avoid 40 ms Nagle/delayed-ACK stalls per message on TCP (see
 * milter.c for the measurements).
 *
 * Header values over the protocol (verified with Postfix 3.7 and Sendmail
 * 8.17): folded lines are separated by a bare LF both ways (a CR would be
 * delivered as a stray CR); with HDR_LEADSPC the value is byte-exact after
 * the colon, else the MTA strips/adds one space.
 *
 * Per message: the engine gets the top-level header block rebuilt as
 * "Name:" value CRLF (value byte-exact with HDR_LEADSPC, else one space is
 * put back after the colon), a CRLF, then the body chunks (CRLF, as the MTA
 * sends them).  At end of message the edit list becomes smfi_chgheader /
 * smfi_addheader calls and, when the body changed, smfi_replacebody calls
 * of at most 65535 bytes.  A message without edits gets no modification
 * call at all.
 *
 * Failure policy: an engine error before any modification was sent passes
 * the message unchanged (OnError accept) or tempfails it (OnError tempfail);
 * a failure after a modification was sent always tempfails, because a half
 * applied edit list could deliver a wrong label.
 *
 * Configuration: a refcounted pointer swapped under a mutex; a message keeps
 * the configuration it started with (MAIL FROM) until it ends.
 */
#ifndef CPM_MILTER_H
#define CPM_MILTER_H

#include <stdbool.h>
#include "conf.h"

/* Set the configuration used for new messages (atomically replaces; the old
 * one is freed once no message uses it).  Takes ownership of c. */
void milter_set_conf(struct conf *c);
/* Free the current configuration at exit (no message may be in flight). */
void milter_release_conf(void);

/* Register the callbacks and create the listening socket ("unix:/path",
 * "local:/path", "inet:PORT@HOST", "inet6:PORT@HOST"); a stale unix socket
 * file is removed.  Returns 0, or -1 (reason logged). */
int milter_open(const char *socket, int backlog);
/* Run libmilter's accept loop until milter_stop(); 0, or -1 when it failed. */
int milter_main(void);
/* milter_open + milter_main (kept for callers of the first contract): 0 or -1. */
int milter_run(const char *socket, int backlog);
/* Graceful stop, step 1: messages already past MAIL FROM go on; a new one
 * gets the OnError reply (accept unchanged, or tempfail).  libmilter's
 * worker pool stops serving every connection at smfi_stop(), so this comes
 * first, then milter_wait_idle(), then milter_stop(). */
void milter_begin_stop(void);
/* Stop libmilter (smfi_stop): no more connections or callbacks. */
void milter_stop(void);
/* Wait until no message is between MAIL FROM and its end, at most
 * timeout_sec seconds.  True when idle. */
bool milter_wait_idle(unsigned timeout_sec);

/* Header value conversions between the engine's form (CRLF folding, leading
 * white space kept) and what the MTA passes or expects (LF folding; without
 * HDR_LEADSPC no leading space).  Exposed for the unit/protocol tests.
 * Both return a malloc'd string. */
char *milter_value_from_mta(const char *value, bool leadspc);
char *milter_value_to_mta(const char *value, bool leadspc);

#endif
