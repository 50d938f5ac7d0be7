/* err: messages for dnsd's error codes. */
#include "err.h"

const char *dnsd_strerror(int code)
{
	switch (code) {
	case DNSD_OK: return "success";
	case DNSD_ENOMEM: return "out of memory";
	case DNSD_EINVAL: return "invalid input";
	case DNSD_ENOENT: return "not found";
	case DNSD_EEXIST: return "already exists";
	case DNSD_EIO: return "I/O error";
	case DNSD_ESTORE: return "store error";
	case DNSD_EVERSION: return "store schema is newer than this program";
	case DNSD_ERANGE: return "value out of range";
	case DNSD_EBUSY: return "store is locked by another writer";
	case DNSD_ECRYPTO: return "cryptographic operation failed";
	case DNSD_ESPACE: return "no space in buffer";
	case DNSD_EFORMAT: return "malformed message";
	case DNSD_EPERM: return "unsafe ownership or permissions";
	case DNSD_EFULL: return "disk full";
	}
	return "unknown error";
}

const char *err_code_name(int code)
{
	switch (code) {
	case DNSD_ENOMEM: return "no_memory";
	case DNSD_EINVAL: return "invalid";
	case DNSD_ERANGE: return "invalid";
	case DNSD_ENOENT: return "not_found";
	case DNSD_EEXIST: return "exists";
	case DNSD_EIO: return "io";
	case DNSD_ESTORE: return "store";
	case DNSD_EVERSION: return "store_version";
	case DNSD_EBUSY: return "store_busy";
	case DNSD_ECRYPTO: return "crypto";
	case DNSD_ESPACE: return "internal";
	case DNSD_EFORMAT: return "malformed";
	case DNSD_EPERM: return "unsafe";
	case DNSD_EFULL: return "disk_full";
	}
	return "error";
}
