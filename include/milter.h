/*
 * milter.h -- the libmilter adapter: callbacks that turn milter events into
 * engine calls and the edit list back into smfi_* calls.  Nothing else.
 *
 * Negotiation: actions CHGHDRS|ADDHDRS|CHGBODY (SETSYMLIST when offered,
 * to ask for the queue id {i} at end of message and no other macro);
 * steps: header values with their leading space (HDR_LEADSPC) when offered,
 * no RCPT/unknown commands.  Every other step is answered, and inet
 * listeners get TCP_NODELAY (inherited by accepted sockets on Linux): all
 * of it to avoid 40 ms Nagle/delayed-ACK stalls per message on TCP.
 * Neither MTA sets TCP_NODELAY on its milter socket, so any packet of
 * theirs that gets no reply (a SMFIP_NR_* step, a macro packet) makes their
 * next write wait for our delayed ACK: ~40 ms.  Measured through real MTAs
 * over inet, one SMTP session after another:
 *   Postfix, SMFIP_NODATA: smtpd's last packet goes unanswered before it
 *     hands the connection to cleanup: 20 msg/s instead of 170;
 *   Sendmail, NR_CONN/HELO/HDR/BODY: a stall after each unanswered run;
 *     Sendmail's default macro packets before every stage: a stall each
 *     (6.4 msg/s); with the macro lists cut to what we use and no NR
 *     steps: 12 msg/s, the one stall left being the {i} macro packet before
 *     end of message (the queue id is worth it).  Unix sockets do not stall
 *     (Sendmail 40-50 msg/s, Postfix 140-180 msg/s).
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
 * Size: once the bytes fed for a message pass MaxMessageSize (during the
 * header or the body) the message is accepted on the spot (SMFIS_ACCEPT:
 * passed unmodified, the MTA sends no more of it) and, at LogLevel info,
 * "QID: passed untouched: message larger than MaxMessageSize" is logged --
 * the engine would pass it untouched anyway, so it is not spooled whole.
 *
 * Configuration: each message takes a reference to the configuration in
 * force at MAIL FROM (runtime.h) and keeps it until it ends.
 */
#ifndef CPM_MILTER_H
#define CPM_MILTER_H

/* Register the callbacks and create the listening socket ("unix:/path",
 * "local:/path", "inet:PORT@HOST", "inet6:PORT@HOST"; see daemon.h for the
 * rule); a stale unix socket file is removed, a live one (another daemon
 * answering on it) is an error.  Returns 0, or -1 (reason logged). */
int milter_open(const char *socket, int backlog);
/* Run libmilter's accept loop until milter_stop(); 0, or -1 when it failed. */
int milter_main(void);
/* Stop libmilter (smfi_stop): no more connections or callbacks.  libmilter's
 * worker pool stops serving every connection at once, so a graceful stop
 * first calls runtime_begin_stop() (a new message then gets the OnError
 * reply: accept unchanged, or tempfail) and runtime_wait_idle(). */
void milter_stop(void);

#endif
