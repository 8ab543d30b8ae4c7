/*
 * accept_milter.c -- the milter throughput ceiling: a libmilter milter that
 * does no work and accepts every message.
 *
 * Usage: accept_milter SOCKET       (unix:/path or inet:PORT@HOST)
 *
 * It asks for the fewest round trips the protocol allows (no replies for
 * connect/HELO/headers/EOH/body chunks, no RCPT/DATA/unknown events,
 * header values with their leading space), answers CONTINUE at MAIL FROM and
 * ACCEPT at end of message -- codepage-milter answers more steps (all of
 * them over TCP, end of header and body chunks on a unix socket), so the
 * difference includes those round trips as well as its own work.  Its TCP
 * listener gets codepage-milter's socket options (daemon.c: TCP_NODELAY and
 * the 16 KiB MSS that keeps 64 KiB body chunks from waiting for delayed
 * ACKs on loopback), so neither side pays a stall the other does not.
 *
 * Runs in the foreground until SIGTERM/SIGINT (libmilter's own handling).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmilter/mfapi.h>

#include "daemon.h"

#define ACCEPT_STEPS	(SMFIP_HDR_LEADSPC | SMFIP_NORCPT | SMFIP_NOUNKNOWN | \
			 SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | \
			 SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static unsigned long granted_steps;

static sfsistat accept_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	/* Same actions as codepage-milter asks for, so the MTA does the same. */
	*pf0 = f0 & (SMFIF_CHGHDRS | SMFIF_ADDHDRS | SMFIF_CHGBODY);
	*pf1 = f1 & ACCEPT_STEPS;
	granted_steps = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* A step the MTA expects no reply for must answer NOREPLY. */
static sfsistat step(unsigned long no_reply_flag)
{
	return (granted_steps & no_reply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat accept_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return step(SMFIP_NR_CONN);
}

static sfsistat accept_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return step(SMFIP_NR_HELO);
}

static sfsistat accept_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat accept_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return step(SMFIP_NR_HDR);
}

static sfsistat accept_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return step(SMFIP_NR_EOH);
}

static sfsistat accept_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return step(SMFIP_NR_BODY);
}

static sfsistat accept_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static struct smfiDesc accept_desc = {
	.xxfi_name = "accept-everything",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGHDRS | SMFIF_ADDHDRS | SMFIF_CHGBODY,
	.xxfi_connect = accept_connect,
	.xxfi_helo = accept_helo,
	.xxfi_envfrom = accept_envfrom,
	.xxfi_header = accept_header,
	.xxfi_eoh = accept_eoh,
	.xxfi_body = accept_body,
	.xxfi_eom = accept_eom,
	.xxfi_negotiate = accept_negotiate,
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: accept_milter unix:/path | inet:PORT@HOST\n");
		return 2;
	}
	if (strncmp(argv[1], "unix:", 5) == 0 || strncmp(argv[1], "local:", 6) == 0)
		(void)unlink(strchr(argv[1], ':') + 1);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_setbacklog(256) != MI_SUCCESS ||
	    smfi_register(accept_desc) != MI_SUCCESS) {
		fprintf(stderr, "accept_milter: cannot set up %s\n", argv[1]);
		return 1;
	}
	if (smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "accept_milter: cannot open %s\n", argv[1]);
		return 1;
	}
	(void)daemon_tcp_nodelay_on_listeners();
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
