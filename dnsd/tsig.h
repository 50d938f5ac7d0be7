/* tsig: transaction signatures (RFC 8945) over raw DNS wire messages: the key
 * file, verifying a signed request and signing its answers (one message or a
 * chain of them, as a zone transfer sends), the error answers, and signing a
 * request of our own (NOTIFY) and verifying its response. HMAC-SHA256, -SHA384,
 * -SHA512 and -SHA1, computed with libcrypto directly. */
#ifndef DNSD_TSIG_H
#define DNSD_TSIG_H
#include "wire.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WIRE_T_TSIG  250
#define TSIG_MAX_MAC 64	 /* HMAC-SHA512 */
#define TSIG_FUDGE   300 /* seconds of clock difference allowed (RFC 8945 10) */
#define TSIG_MIN_KEY 16	 /* the shortest secret accepted, in octets */
#define TSIG_MAX_KEY 1024
/* The most a TSIG record adds to a message signed by tsig_sign (no other data). */
#define TSIG_MAX_RR (WIRE_MAXNAME + 10 + WIRE_MAXNAME + 16 + TSIG_MAX_MAC)
/* RCODE of an answer refused for its TSIG (RFC 8945 5.3.2). */
#define TSIG_RCODE_NOTAUTH 9

/* What verifying a message found. */
enum tsig_status {
	TSIG_OK = 0,	   /* signed, and the signature holds */
	TSIG_NONE = 1,	   /* not signed */
	TSIG_BADKEY = 17,  /* signed with a key (or algorithm) not known: answer NOTAUTH, BADKEY */
	TSIG_BADSIG = 16,  /* the MAC does not match: answer NOTAUTH, BADSIG */
	TSIG_BADTIME = 18, /* the MAC matches but the time is off by more than the fudge */
	TSIG_FORMERR = 2,  /* a TSIG record malformed or not last: answer FORMERR */
};

/* One key. The secret never leaves this module. */
struct tsig_key {
	char name[WIRE_MAXNAME * 4 + 2]; /* lowercase, absolute: "xfr-key." */
	uint8_t wire[WIRE_MAXNAME];	 /* the same in wire form */
	uint8_t wire_len;
	const char *alg;	 /* "hmac-sha256" */
	const uint8_t *alg_wire; /* "\x0bhmac-sha256\0" */
	uint8_t alg_wire_len;
	uint8_t mac_len; /* the HMAC's length */
	void *hmac;	 /* an EVP_MAC_CTX keyed with the secret, copied for each MAC */
};

/* The keys of one key file. Never changed once loaded: workers read it while
 * the loop may load the next set. */
struct tsig_keys {
	struct tsig_key *keys;
	size_t n;
	void *mac; /* the EVP_MAC "HMAC" */
};

/* One transaction: what verifying a request (or signing one) leaves for the
 * messages that follow. Zeroed by the calls that start it; one per transfer. */
struct tsig_ctx {
	const struct tsig_key *key; /* the key (NULL when the request's key is unknown) */
	uint8_t mac[TSIG_MAX_MAC];  /* the last MAC: the request's, then each message's */
	uint16_t mac_len;
	unsigned nmsg; /* messages signed (or verified) after the request */
	/* The request's TSIG, for the error answers. */
	uint8_t name[WIRE_MAXNAME], alg[WIRE_MAXNAME];
	uint8_t name_len, alg_len;
	uint64_t time_signed;
	uint16_t fudge;
};

/* Reads the key file at path: one key a line, "NAME ALGORITHM BASE64SECRET",
 * # comments and blank lines. The file must be a regular file (not a link)
 * owned by root or the caller, readable by no other user and writable by no
 * one but its owner, in directories only root or the caller can change. Refuses
 * a bad name, an unknown algorithm, bad base64, a secret shorter than 16 octets
 * and a name given twice, with the file and line (never the secret). *out is the
 * caller's (tsig_keys_free). Returns 0, DNSD_EPERM (the file is not safe),
 * DNSD_EIO, DNSD_EINVAL or DNSD_ENOMEM, with err set. */
int tsig_keys_load(const char *path, struct tsig_keys **out, char *err, size_t errlen);

/* The same from an open stream, without the file checks; name is what err
 * calls it. */
int tsig_keys_parse(FILE *f, const char *name, struct tsig_keys **out, char *err, size_t errlen);

/* The key called name (text, any case, absolute or not), or NULL. keys may be
 * NULL. */
const struct tsig_key *tsig_key_find(const struct tsig_keys *keys, const char *name);

/* Frees the set and wipes its secrets. NULL does nothing. */
void tsig_keys_free(struct tsig_keys *keys);

/* Verifies a request of len octets signed with a key of keys (NULL: none
 * known) at time now (seconds since 1970). Returns a tsig_status. For TSIG_OK
 * ctx holds the key and the request's MAC, for tsig_sign; for the errors what
 * tsig_sign_error needs. *len_without gets the message's length without the
 * TSIG record (len when unsigned): parse that much, and count one record
 * fewer in ARCOUNT. The message itself is not changed. */
int tsig_verify(const struct tsig_keys *keys, const uint8_t *msg, size_t len, uint64_t now,
		struct tsig_ctx *ctx, size_t *len_without);

/* Signs the answer msg (*len octets in a buffer of cap) in place: appends the
 * TSIG record and counts it in ARCOUNT. The first call after tsig_verify covers
 * the request's MAC; each later one (the next message of a transfer) covers the
 * previous message's MAC and only the timers (RFC 8945 5.3.1). Returns 0,
 * DNSD_ESPACE when the record does not fit in cap (or 65535), DNSD_EINVAL
 * without a key, DNSD_ECRYPTO. */
int tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now);

/* Turns msg (the answer's header and question, as built for the request) into
 * the error answer for status TSIG_BADKEY, TSIG_BADSIG or TSIG_BADTIME (RFC 8945
 * 5.3.2): RCODE NOTAUTH and a TSIG record with the error; unsigned for BADKEY
 * and BADSIG, signed for BADTIME, with the server's time in its other data.
 * Returns as tsig_sign; DNSD_EINVAL for another status. */
int tsig_sign_error(struct tsig_ctx *ctx, int status, uint8_t *msg, size_t *len, size_t cap,
		    uint64_t now);

/* Signs a request of our own (a NOTIFY) with key, in place as tsig_sign, and
 * starts ctx for verifying its response. */
int tsig_sign_request(const struct tsig_key *key, struct tsig_ctx *ctx, uint8_t *msg, size_t *len,
		      size_t cap, uint64_t now);

/* Verifies a response to the request ctx signed (the first, then each next
 * message). Returns a tsig_status: TSIG_OK; TSIG_NONE (unsigned); TSIG_BADKEY
 * for another key or algorithm, or when the response says BADKEY; TSIG_BADSIG,
 * also when it says BADSIG; TSIG_BADTIME; TSIG_FORMERR. *len_without as
 * tsig_verify. */
int tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now,
			 size_t *len_without);

/* The status as text: "BADSIG", ... */
const char *tsig_status_name(int status);
#endif
