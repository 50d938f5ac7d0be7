/* csv: the lines of `dnsdctl import`'s CSV file, split and checked for their
 * form without a store (the import and its fuzz target share it). */
#include "csv.h"
#include "ctl.h"
#include "keys.h"
#include "names.h"
#include "policy.h"
#include <stdio.h>
#include <string.h>

static const char *const colnames[CSV_NCOL] = {"domain",      "tenant", "algorithm",  "public_key",
					       "private_key", "token",	"return_path"};

void csv_init(struct csv *cv, const char *zone, const char *prefix, int have_tenant)
{
	memset(cv, 0, sizeof(*cv));
	for (int i = 0; i < CSV_NCOL; i++)
		cv->col[i] = -1;
	cv->zone = zone;
	cv->prefix = prefix;
	cv->have_tenant = have_tenant;
}

static int header(struct csv *cv, char **f, int nf, char *err, size_t errlen)
{
	cv->ncols = nf;
	for (int i = 0; i < nf; i++) {
		int k;
		for (k = 0; k < CSV_NCOL && strcmp(f[i], colnames[k]); k++)
			;
		if (k == CSV_NCOL) {
			snprintf(err, errlen,
				 "unknown column '%s' (columns: domain, tenant, algorithm, "
				 "public_key, "
				 "private_key, token, return_path)",
				 f[i]);
			return CSV_EHEADER;
		}
		cv->col[k] = i;
	}
	if (cv->col[CSV_DOMAIN] < 0) {
		snprintf(err, errlen, "the header must name a 'domain' column");
		return CSV_EHEADER;
	}
	if (cv->col[CSV_TENANT] < 0 && !cv->have_tenant) {
		snprintf(err, errlen, "no 'tenant' column and no --tenant");
		return CSV_EHEADER;
	}
	if (cv->col[CSV_PUB] < 0 && cv->col[CSV_PRIV] < 0) {
		snprintf(err, errlen,
			 "the header must name a 'public_key' or 'private_key' column");
		return CSV_EHEADER;
	}
	return CSV_HEADER;
}

/* Field k of the row, or NULL when the header has no such column or it is empty. */
static const char *field(const struct csv *cv, char **f, int k)
{
	return cv->col[k] >= 0 && *f[cv->col[k]] ? f[cv->col[k]] : NULL;
}

int csv_line(struct csv *cv, char *line, struct csv_row *r, char *err, size_t errlen)
{
	char *l = ctl_trim(line), *f[CSV_MAX_FIELDS];
	int nf = 0;
	if (!*l || *l == '#')
		return CSV_SKIP;
	for (char *p = l;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (nf < CSV_MAX_FIELDS)
			f[nf++] = ctl_trim(p);
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!cv->ncols)
		return header(cv, f, nf, err, errlen);
	if (nf != cv->ncols) {
		snprintf(err, errlen, "%d fields where the header names %d", nf, cv->ncols);
		return DNSD_EINVAL;
	}
	char why[400];
	const char *dom = field(cv, f, CSV_DOMAIN);
	if (!dom || strlen(dom) >= sizeof(r->name) || policy_name_check(dom, 0, why, sizeof(why))) {
		snprintf(err, errlen, "bad domain '%s': %s", dom ? dom : "", dom ? why : "empty");
		return DNSD_EINVAL;
	}
	char *name = r->name;
	size_t nl = strlen(dom), zl = strlen(cv->zone);
	for (size_t i = 0; i <= nl; i++)
		name[i] = (char)((dom[i] >= 'A' && dom[i] <= 'Z') ? dom[i] + 32 : dom[i]);
	if (nl && name[nl - 1] == '.')
		name[--nl] = 0;
	char dotted[300];
	snprintf(dotted, sizeof(dotted), ".%s.", name);
	/* At or under the zone: its name ends the row's at a label's start
	 * ("fooauth.Z" is not under "auth.Z"). */
	if (nl + 2 > zl && !strcmp(dotted + nl + 2 - zl, cv->zone) && dotted[nl + 1 - zl] == '.') {
		snprintf(err, errlen, "domain %s is inside the hosted zone %s", name, cv->zone);
		return DNSD_EINVAL;
	}
	if (strlen(cv->prefix) + 4 + 12 + nl > 253 || nl + 15 + zl > 253) {
		snprintf(err, errlen, "domain %s is too long", name);
		return DNSD_EINVAL;
	}
	r->tenant = field(cv, f, CSV_TENANT);
	r->token = field(cv, f, CSV_TOKEN);
	r->rp = field(cv, f, CSV_RP);
	r->alg = field(cv, f, CSV_ALG);
	r->pub = field(cv, f, CSV_PUB);
	r->priv = field(cv, f, CSV_PRIV);
	if (r->token && !keys_token_valid(r->token)) {
		snprintf(err, errlen, "invalid token '%s': 16 characters of a-z and 2-7", r->token);
		return DNSD_EINVAL;
	}
	if (r->rp && !names_label(r->rp, 63)) {
		snprintf(err, errlen, "invalid return_path '%s'", r->rp);
		return DNSD_EINVAL;
	}
	if (!r->pub && !r->priv) {
		snprintf(err, errlen, "%s has neither a public_key nor a private_key", name);
		return DNSD_EINVAL;
	}
	return CSV_ROW;
}
