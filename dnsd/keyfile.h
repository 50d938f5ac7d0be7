/* keyfile: private DKIM key files, made safely in the keys directory. A file
 * is written into the writer's staging directory and reaches its place only
 * when the batch that names it commits (wr.h: wr_stage_dir, wr_commit). */
#ifndef DNSD_KEYFILE_H
#define DNSD_KEYFILE_H
#include "keys.h"
#include "wr.h"
#include <stddef.h>

/* 0 when a domain, selector and token (from the store) may name a key file: a
 * host name in the stored form, a DNS label, a token of a-z2-7; else
 * DNSD_EINVAL with why, and *field (when not NULL) the input at fault
 * ("domain", "selector" or "token"). */
int keyfile_names_check(const char *domain, const char *label, const char *token, char *why,
			size_t n, const char **field);

/* Writes k into the domain's key directory (made if missing, mode 0700) as
 * <label>-<token>-<time><suffix>.pem, never over another file: staged, taken
 * back if the batch fails. Refuses names keyfile_names_check refuses, and a
 * directory another user could change. path gets the file's final, absolute
 * name. Returns 0, or a code with w->err set (w->rc already set: that code,
 * doing nothing). */
int keyfile_store(struct wr *w, const keys_key *k, const char *domain, const char *label,
		  const char *token, const char *suffix, char *path, size_t pathlen);

/* Generates a key of algorithm alg (before any transaction: RSA is slow) and
 * stores it as keyfile_store does; its public p= value goes to pub. Returns 0
 * or a code with w->err set ("...; nothing was changed"). */
int keyfile_new(struct wr *w, const char *domain, const char *token, const char *alg,
		const char *label, char *pub, size_t publen, char *path, size_t pathlen);

/* Gives a staged key file made before its slot was known the name of the slot
 * it got: <oldsel>-<rest> becomes <newsel>-<rest>, never over another file, and
 * the undo list follows. Keeps the old name when the new one cannot be made (a
 * file that is not staged, a name taken); DNSD_ENOMEM is the only error. */
int keyfile_rename(struct wr *w, char *path, size_t n, const char *oldsel, const char *newsel);

#endif
