/* apitokenctl: dnsdctl's api-token command, over dnsd/apitoken.c. */
#ifndef DNSD_APITOKENCTL_H
#define DNSD_APITOKENCTL_H
#include "ctl.h"

/* api-token add NAME [--tenant T] [--json] | list [--tenant T] [--json] | revoke NAME. The text
 * of a new token is printed once, on stdout; it is never stored. */
void cmd_api_token(struct ctx *c);

#endif
