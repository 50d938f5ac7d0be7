/* err: the error codes every dnsd module returns, and their one strerror. */
#ifndef DNSD_ERR_H
#define DNSD_ERR_H

/* Functions return 0 on success or one of these negative codes. */
enum {
	DNSD_OK = 0,
	DNSD_ENOMEM = -1,   /* out of memory */
	DNSD_EINVAL = -2,   /* invalid argument or input */
	DNSD_ENOENT = -3,   /* no such object */
	DNSD_EEXIST = -4,   /* object already exists */
	DNSD_EIO = -5,      /* file or socket I/O failed */
	DNSD_ESTORE = -6,   /* the SQLite store failed */
	DNSD_EVERSION = -7, /* store schema newer than this binary */
	DNSD_ERANGE = -8,   /* value out of range, buffer too small */
	DNSD_EBUSY = -9,    /* store locked by another writer */
	DNSD_ECRYPTO = -10, /* key generation or encoding failed */
	DNSD_ESPACE = -11,  /* no space to answer (truncate) */
	DNSD_EFORMAT = -12, /* malformed message */
	DNSD_EPERM = -13,   /* a file others could write, or a link: not trusted */
	DNSD_EFULL = -14,   /* the disk (or the store's quota) is full */
};

/* Returns a static, human-readable message for a code. */
const char *dnsd_strerror(int code);
/* A code's stable name for machines (JSON errors of dnsdctl and dnsd-api):
 * "invalid", "not_found", "exists", "store_busy", "disk_full", "store", "io",
 * ...; "error" for 0 or a code it does not know. Static. */
const char *err_code_name(int code);

#endif
