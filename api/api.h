/* api: what dnsd-api's parts share: its settings, one request as a handler sees it, the route
 * table, and the error replies. The frame (frame.c) does HTTP, limits, authentication, routing and
 * idempotency; each resource (routes.c) is a handler over the library in dnsd/. */
#ifndef DNSD_API_H
#define DNSD_API_H
#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "apitoken.h"
#include "export.h"
#include "registry.h"
#include "store.h"
#include "wr.h"

/* The defaults, documented in docs/api.md. */
#define API_DEFAULT_LISTEN	 "127.0.0.1:8053"
#define API_DEFAULT_THREADS	 4
#define API_DEFAULT_CONNECTIONS	 256
#define API_DEFAULT_TIMEOUT	 10	 /* seconds a connection may stay idle */
#define API_DEFAULT_MAX_BODY	 1048576 /* bytes */
#define API_DEFAULT_LOCK_TIMEOUT 2000	 /* ms a write waits for another writer */

struct api_conf {
	struct wr_conf wr;   /* how each worker opens its writer (paths from the config only) */
	size_t max_body;     /* the largest request body accepted */
	int lock_timeout_ms; /* the store's busy timeout in every worker */
	struct export_conf exports; /* the signer's exports, as dnsdctl's config file says */
};
extern struct api_conf api_conf;

/* One request, as a handler sees it. The frame fills the first part; the handler sets status and
 * reply (api_reply or api_error), and may add a Location. */
struct api_req {
	const char *method, *path;
	json_t *body;	       /* the parsed body, an object, for routes with API_BODY; else NULL */
	struct apitoken token; /* who asks: token.tenant_id > 0 for a tenant's token */
	struct wr *w;	       /* this worker's writer (the write library), its error cleared */
	struct store *st;      /* its store, for the library's functions that take one */
	char param[256];       /* the first {name} of the path, if the route has one */
	char param2[256];      /* the second, if it has two */
	int status;
	json_t *reply;	/* owned by the request; NULL for a reply without a body (204) */
	char *location; /* malloc'd, or NULL */
	int retry_after;
	struct MHD_Connection *conn; /* for the query string: api_query */
};

typedef void (*api_handler)(struct api_req *r);

enum {
	API_BODY = 1,	       /* takes a JSON object body (Content-Type: application/json) */
	API_PLATFORM = 2,      /* a platform token only; a tenant's token gets 403 */
	API_IDEMPOTENT = 4,    /* honours Idempotency-Key (a POST) */
	API_EXPORTS = 8,       /* may change the keys the signer signs with: after a success is
				* committed, the signer's exports are rewritten (as dnsdctl does) */
	API_NETWORK = 16,      /* asks the network before it writes (the check): not run in the
				* server's write turn, its write waits for the store's lock alone */
	API_EXPORTS_SOON = 32, /* changes which domains the signer signs for: after a success, the
				* exports are rewritten soon, by the exporter (exporter.c) */
};

struct api_route {
	const char *method;
	const char *pattern; /* segments; "{name}" matches one non-empty segment: the first
			      * into param, the second into param2 */
	api_handler fn;
	int flags;
};
extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* Sets r's reply: status and v (taken). */
void api_reply(struct api_req *r, int status, json_t *v);
/* Sets r's reply to the error body {"error": {"code", "message", "field"}} (field left out when
 * NULL). code is stable: clients branch on it, never on the message. */
void api_error(struct api_req *r, int status, const char *code, const char *field, const char *fmt,
	       ...) __attribute__((format(printf, 5, 6)));
/* The reply for a library's error code rc with its sentence msg: 400 invalid, 404 not_found,
 * 409 exists, 503 store_busy (with Retry-After), 507 disk_full, 500 otherwise. */
void api_fail(struct api_req *r, int rc, const char *field, const char *msg);

/* The string member k of r's body, or NULL with a 400 reply when it is missing or not a
 * string. */
const char *api_body_string(struct api_req *r, const char *k);
/* A 400 unknown_field naming the first member of r's body that is not one of known (NULL-ended);
 * returns 1 if there is one. */
int api_unknown_member(struct api_req *r, const char *const *known);

/* The query-string argument name of r's URL (decoded), or NULL when it has none. */
const char *api_query(const struct api_req *r, const char *name);

/* The domain name (as given: any case, a final dot or not) in the caller's scope, into *d: the
 * live one, or with any_state the newest row (a removed one too). 0, or -1 with the reply set:
 * 400 naming "domain" for a name that is no domain name, 404 not_found for none, and the very
 * same 404 for another tenant's domain when r's token is a tenant's; 503... for the store's
 * errors. Every handler of a domain's resources finds it through this. */
int api_domain_in_scope(struct api_req *r, const char *name, struct reg_domain *d, int any_state);

/* tenants.c: what the handlers of tenants.c and domains.c share. */
/* The reply for the error of r's writer: its code, field and sentence (api_fail). */
void api_wr_fail(struct api_req *r);
/* Runs fn(r) in one write transaction, committed when its reply is a success and rolled back
 * otherwise: a check of the caller's scope and the change it allows see the same store. */
void api_in_tx(struct api_req *r, api_handler fn);
/* The body's optional "slots" (2 to REG_MAX_SLOTS) and "ed25519" (a boolean) into *slots and
 * *ed25519, left as they are when absent or null. 0, or -1 with a 400 naming the member. */
int api_body_layout(struct api_req *r, int *slots, int *ed25519);
/* tenants.c: the tenants, and the policies at every level. */
void api_tenants_list(struct api_req *r);
void api_tenant_add(struct api_req *r);
void api_tenant_get(struct api_req *r);
void api_tenant_remove(struct api_req *r);
void api_policy_get(struct api_req *r);
void api_policy_put(struct api_req *r);
void api_tenant_policy_get(struct api_req *r);
void api_tenant_policy_put(struct api_req *r);
void api_domain_policy_get(struct api_req *r);
void api_domain_policy_put(struct api_req *r);
/* domains.c: the customer domains. */
void api_domains_list(struct api_req *r);
void api_domain_add(struct api_req *r);
void api_domain_get(struct api_req *r);
void api_domain_records(struct api_req *r);
void api_domain_remove(struct api_req *r);

/* exporter.c: one thread rewrites the signer's exports after domain changes, at most once a
 * second. start: 0 or -1; mark: they are stale; stop: rewrites what is pending, then ends. */
int api_exporter_start(void);
void api_exporter_mark(void);
void api_exporter_stop(void);

/* frame.c: the callbacks dnsd-api gives libmicrohttpd. */
enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_size, void **con_cls);
void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe);
/* Requests being answered now (graceful stop waits for them). */
int api_in_flight(void);
/* Creates the key of the workers' writers (each worker opens its own, with its own store
 * connection, on its first request; closed when the worker ends). Returns 0 or -1. */
int api_frame_init(void);

/* check.c: the check of a domain's records, through the resolver of --resolver (api_resolver,
 * "ADDR[:PORT]"; NULL: /etc/resolv.conf's). */
extern const char *api_resolver;
void api_check_get(struct api_req *r);
void api_check_run(struct api_req *r);

#endif
