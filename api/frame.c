/* frame: one HTTP request through dnsd-api, from libmicrohttpd's callbacks: the body and its
 * limit, the token, the route, the JSON, the idempotency key, the handler, the reply and the log
 * line. Handlers see only struct api_req. */
#include "api.h"
#include "apimetrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "log.h"

struct api_conf api_conf = {.max_body = API_DEFAULT_MAX_BODY,
			    .lock_timeout_ms = API_DEFAULT_LOCK_TIMEOUT};

/* What the frame keeps of one request between libmicrohttpd's calls. */
struct conn_req {
	struct timespec t0;
	char method[16];
	char *path;
	char *body;
	size_t len, cap;
	int too_big;	/* the body passed max_body: the rest is dropped, 413 answered */
	size_t dropped; /* bytes dropped since */
	int answered;	/* a reply is queued */
	int status;	/* the status of the reply, for the log */
	char who[APITOKEN_NAME_MAX + 1];
};

static atomic_int in_flight;
static pthread_key_t store_key;

int api_in_flight(void)
{
	return atomic_load(&in_flight);
}

static void wr_free(void *p)
{
	wr_close(p);
	free(p);
}

int api_frame_init(void)
{
	return pthread_key_create(&store_key, wr_free) ? -1 : 0;
}

/* What a writer notices that is not an error (an interrupted run's key files finished). */
static void wr_log(void *arg, const char *msg)
{
	log_msg(LOG_WARN, "%s", msg);
}

/* This worker's writer, opened on its first request, its last error forgotten. NULL (and a
 * log line saying why) when it cannot be opened. */
static struct wr *worker_wr(void)
{
	struct wr *w = pthread_getspecific(store_key);
	if (w) {
		wr_clear(w);
		if (w->depth) { /* a handler left its transaction open: never carry it over */
			log_msg(LOG_ERR, "a request left a write transaction open; rolled back");
			while (w->depth)
				wr_rollback(w);
		}
		return w;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		log_msg(LOG_ERR, "opening the store: out of memory");
		return NULL;
	}
	w->warn = wr_log;
	if (wr_open(w, &api_conf.wr, 0) || pthread_setspecific(store_key, w)) {
		log_msg(LOG_ERR, "opening the store: %s", w->rc ? w->err : "out of memory");
		wr_free(w);
		return NULL;
	}
	/* wr takes 0 for its default; here 0 means not to wait at all. */
	wr_lock_wait(w, api_conf.lock_timeout_ms);
	return w;
}

const char *api_query(const struct api_req *r, const char *name)
{
	return r->conn ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

int api_domain_in_scope(struct api_req *r, const char *name, struct reg_domain *d, int any_state)
{
	char stored[256];
	int found = !reg_domain_norm(r->w, name, stored, sizeof(stored)) &&
		    reg_domain_find(r->w, stored, d, any_state);
	if (r->w->rc) {
		api_wr_fail(r);
		return -1;
	}
	/* One answer for both: a tenant learns nothing of the other tenants' names. */
	if (!found || (r->token.tenant_id && d->tenant_id != r->token.tenant_id)) {
		api_error(r, 404, "not_found", NULL, "no domain '%s'", stored);
		return -1;
	}
	return 0;
}

void api_reply(struct api_req *r, int status, json_t *v)
{
	json_decref(r->reply);
	r->reply = v;
	r->status = status;
	if (!v && status != 204)
		api_error(r, 500, "internal", NULL, "out of memory");
}

void api_error(struct api_req *r, int status, const char *code, const char *field, const char *fmt,
	       ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (e && field)
		json_object_set_new(e, "field", json_string(field));
	json_decref(r->reply);
	r->reply = e ? json_pack("{s:o}", "error", e) : NULL;
	free(r->location); /* an error points nowhere */
	r->location = NULL;
	r->status = status;
}

/* The codes are err_code_name()'s, as dnsdctl's --json errors have them. */
void api_fail(struct api_req *r, int rc, const char *field, const char *msg)
{
	switch (rc) {
	case DNSD_EINVAL:
	case DNSD_ERANGE:
		api_error(r, 400, err_code_name(rc), field, "%s", msg);
		break;
	case DNSD_ENOENT:
		api_error(r, 404, err_code_name(rc), NULL, "%s", msg);
		break;
	case DNSD_EEXIST:
		api_error(r, 409, err_code_name(rc), field, "%s", msg);
		break;
	case DNSD_EBUSY:
		apimetrics_store_busy();
		/* A second is about what a batch of another writer holds the lock for. */
		r->retry_after = 1;
		api_error(r, 503, err_code_name(rc), NULL,
			  "the store is locked by another writer; nothing was changed: retry");
		break;
	case DNSD_EFULL:
		api_error(r, 507, err_code_name(rc), NULL,
			  "the store's disk is full; nothing was changed");
		break;
	default:
		log_msg(LOG_ERR, "%s", msg);
		api_error(r, 500, "internal", NULL, "%s", dnsd_strerror(rc));
	}
}

/* Queues the reply status + body (text, taken; may be NULL) with the headers of r. */
static enum MHD_Result send_text(struct MHD_Connection *conn, struct conn_req *cr, int status,
				 char *text, const struct api_req *r, const char *allow,
				 int replayed)
{
	struct MHD_Response *resp =
		text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)
		     : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (replayed)
		MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (r && r->location)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (r && r->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	cr->answered = 1;
	cr->status = status;
	return ok;
}

/* The reply of r as a line of JSON: malloc'd, NULL for none (or out of memory). */
static char *reply_text(const struct api_req *r)
{
	if (!r->reply)
		return NULL;
	char *s = json_dumps(r->reply, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s) {
		size_t n = strlen(s);
		char *t = realloc(s, n + 2);
		if (t) {
			t[n] = '\n';
			t[n + 1] = 0;
			s = t;
		}
	}
	return s;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct conn_req *cr,
				  const struct api_req *r, const char *allow)
{
	return send_text(conn, cr, r->status, reply_text(r), r, allow, 0);
}

/* An error reply outside a handler. */
static enum MHD_Result send_error(struct MHD_Connection *conn, struct conn_req *cr, int status,
				  const char *code, const char *field, const char *msg)
{
	struct api_req r = {0};
	api_error(&r, status, code, field, "%s", msg);
	enum MHD_Result ok = send_reply(conn, cr, &r, NULL);
	json_decref(r.reply);
	return ok;
}

/* Whether path matches pattern; its "{...}" segments are copied to r's param, then param2. */
static int path_match(const char *pattern, const char *path, struct api_req *r)
{
	char *out[2] = {r->param, r->param2};
	size_t n = sizeof(r->param), np = 0;
	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++, path++;
		size_t pl = strcspn(pattern, "/"), sl = strcspn(path, "/");
		if (*pattern == '{') {
			if (sl == 0 || sl >= n || np == 2)
				return 0;
			memcpy(out[np], path, sl);
			out[np++][sl] = 0;
		} else if (pl != sl || memcmp(pattern, path, pl)) {
			return 0;
		}
		pattern += pl, path += sl;
	}
	return !*pattern && !*path;
}

/* The route for r's method and path; NULL with *allow (the methods the path takes, or "" when
 * no route has the path) otherwise. */
static const struct api_route *route_find(struct api_req *r, char *allow, size_t alen)
{
	allow[0] = 0;
	for (size_t i = 0; i < api_nroutes; i++) {
		if (!path_match(api_routes[i].pattern, r->path, r))
			continue;
		if (!strcmp(api_routes[i].method, r->method))
			return &api_routes[i];
		size_t used = strlen(allow);
		snprintf(allow + used, alen - used, "%s%s", used ? ", " : "", api_routes[i].method);
	}
	return NULL;
}

/* The index in api_routes that a request of method on path counts under: the route that
 * answers it, else the first whose pattern has the path (a 405), else -1 (a 404). */
static int route_index(const char *method, const char *path)
{
	struct api_req scratch;
	int first = -1;
	for (size_t i = 0; i < api_nroutes; i++) {
		if (!path_match(api_routes[i].pattern, path, &scratch))
			continue;
		if (!strcmp(api_routes[i].method, method))
			return (int)i;
		if (first < 0)
			first = (int)i;
	}
	return first;
}

/* Content-Type application/json, with parameters or not, in any case. */
static int is_json_type(const char *ct)
{
	if (!ct || strncasecmp(ct, "application/json", 16))
		return 0;
	ct += 16;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !*ct || *ct == ';';
}

/* The token of the Authorization header: 0 with r->token, or a 401 queued. */
static int authenticate(struct MHD_Connection *conn, struct conn_req *cr, struct api_req *r)
{
	const char *h =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h) {
		send_error(conn, cr, 401, "unauthorized", NULL,
			   "this needs an API token: Authorization: Bearer <token>");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7)) {
		send_error(conn, cr, 401, "unauthorized", NULL,
			   "the Authorization header is not 'Bearer <token>'");
		return -1;
	}
	h += 7;
	while (*h == ' ')
		h++;
	int rc = apitoken_auth(r->st, h, &r->token);
	if (rc == DNSD_ENOENT) {
		send_error(conn, cr, 401, "invalid_token", NULL, "the token is unknown or revoked");
		return -1;
	}
	if (rc) {
		api_fail(r, rc, NULL, "checking the token: store error");
		send_reply(conn, cr, r, NULL);
		return -1;
	}
	snprintf(cr->who, sizeof(cr->who), "%s", r->token.name);
	return 0;
}

/* After a success of a route with API_EXPORTS, committed: the signer's exports, rewritten if the
 * active keys changed, before the client hears of it (after an emergency revoke it expects the
 * signer off the key). A failure leaves the change committed: logged, and the job's next run
 * rewrites them. */
static void exports_after(struct api_req *r, const struct api_route *rt)
{
	int changed = 0;
	if (r->status < 200 || r->status > 299 || r->w->depth)
		return;
	if (rt->flags & API_EXPORTS_SOON)
		api_exporter_mark();
	if (!(rt->flags & API_EXPORTS))
		return;
	if (export_write(r->w, &api_conf.exports, &changed)) {
		log_msg(LOG_ERR,
			"%s %s: the change is committed, but the signer's exports are not: %s",
			r->method, r->path, r->w->err);
		wr_clear(r->w);
	}
}

/* Runs the handler inside the write transaction that keeps its reply under the request's
 * Idempotency-Key, or replays the reply kept for an earlier send of the same request. */
static enum MHD_Result run_idempotent(struct MHD_Connection *conn, struct conn_req *cr,
				      struct api_req *r, const struct api_route *rt,
				      const char *key)
{
	char err[512], hash[65];
	size_t kl = strlen(key);
	if (kl == 0 || kl > APITOKEN_IDEM_KEY_MAX)
		return send_error(conn, cr, 400, "invalid_header", "Idempotency-Key",
				  "an Idempotency-Key is 1 to 255 characters");
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return send_error(conn, cr, 400, "invalid_header", "Idempotency-Key",
					  "an Idempotency-Key holds no control character");
	/* What makes two sends one request: the method, the path and the body, byte for byte. */
	char *fp = NULL;
	int fl = asprintf(&fp, "%s %s\n%.*s", r->method, r->path, (int)cr->len,
			  cr->body ? cr->body : "");
	if (fl < 0)
		return send_error(conn, cr, 500, "internal", NULL, "out of memory");
	apitoken_sha256_hex(fp, (size_t)fl, hash);
	free(fp);

	/* The operation's own transaction nests in this one (wr.h): its change and the reply kept
	 * for the key are committed together. */
	int rc = wr_begin(r->w);
	if (rc) {
		api_fail(r, rc, NULL, r->w->err);
		return send_reply(conn, cr, r, NULL);
	}
	int status;
	char *kept;
	rc = apitoken_idem_find(r->st, r->token.id, key, hash, &status, &kept, err, sizeof(err));
	if (rc != DNSD_ENOENT) {
		wr_rollback(r->w);
		if (rc == 0)
			return send_text(conn, cr, status, kept, NULL, NULL, 1);
		if (rc == DNSD_EEXIST)
			return send_error(
				conn, cr, 422, "idempotency_key_reused", "Idempotency-Key",
				"this Idempotency-Key was used with another request: use a "
				"new key for a new request");
		api_fail(r, rc, NULL, err);
		return send_reply(conn, cr, r, NULL);
	}
	rt->fn(r);
	/* Only what was done is kept: a refusal changed nothing, and a retry may succeed. */
	if (r->status < 200 || r->status > 299) {
		wr_rollback(r->w);
		return send_reply(conn, cr, r, NULL);
	}
	char *text = reply_text(r);
	rc = apitoken_idem_keep(r->st, r->token.id, key, hash, r->status, text ? text : "", err,
				sizeof(err));
	const char *why = err;
	if (!rc) {
		if ((rc = wr_commit(r->w)))
			why = r->w->err;
	} else {
		wr_rollback(r->w);
	}
	if (rc) {
		free(text);
		api_fail(r, rc, "Idempotency-Key", why);
		return send_reply(conn, cr, r, NULL);
	}
	exports_after(r, rt);
	return send_text(conn, cr, r->status, text, r, NULL, 0);
}

/* The whole request is in: authenticate, route, check the body, run. */
static enum MHD_Result answer(struct MHD_Connection *conn, struct conn_req *cr)
{
	char err[512], allow[64];
	struct api_req r = {0};
	enum MHD_Result ok;
	r.method = cr->method;
	r.path = cr->path;
	r.conn = conn;
	if (cr->too_big) {
		snprintf(err, sizeof(err), "the body is larger than %zu bytes", api_conf.max_body);
		return send_error(conn, cr, 413, "body_too_large", NULL, err);
	}
	if (!(r.w = worker_wr())) {
		return send_error(conn, cr, 503, "store_unavailable", NULL,
				  "the store cannot be opened now");
	}
	r.st = r.w->st;
	if (authenticate(conn, cr, &r)) {
		json_decref(r.reply);
		return MHD_YES;
	}
	/* The token's use is noted without waiting (apitoken.c's note_use sets a
	 * busy timeout of its own and puts back SQLite's plain one): the request's
	 * writes wait as wr_lock_wait says. */
	wr_lock_wait(r.w, api_conf.lock_timeout_ms);
	const struct api_route *rt = route_find(&r, allow, sizeof(allow));
	if (!rt && !allow[0])
		return send_error(conn, cr, 404, "no_such_path", NULL, "no such path");
	if (!rt) {
		api_error(&r, 405, "method_not_allowed", NULL, "%s takes %s", r.path, allow);
		ok = send_reply(conn, cr, &r, allow);
		json_decref(r.reply);
		return ok;
	}
	if ((rt->flags & API_PLATFORM) && r.token.tenant_id)
		return send_error(conn, cr, 403, "forbidden", NULL,
				  "this needs a platform token, not a tenant's");
	if (rt->flags & API_BODY) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!is_json_type(ct))
			return send_error(conn, cr, 415, "unsupported_media_type", NULL,
					  "the body must be JSON: Content-Type: application/json");
		json_error_t je;
		r.body = json_loadb(cr->body ? cr->body : "", cr->len, JSON_REJECT_DUPLICATES, &je);
		if (!r.body) {
			snprintf(err, sizeof(err), "malformed JSON at line %d, column %d: %s",
				 je.line, je.column, je.text);
			return send_error(conn, cr, 400, "malformed_json", NULL, err);
		}
		if (!json_is_object(r.body)) {
			json_decref(r.body);
			return send_error(conn, cr, 400, "invalid_body", NULL,
					  "the body must be a JSON object");
		}
	}
	const char *key =
		(rt->flags & API_IDEMPOTENT)
			? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key")
			: NULL;
	/* Writes take their turns at the store's lock (wr_lock_wait: tries every
	 * millisecond, up to --lock-timeout, then 503). No lock of the API's own
	 * around the handler: it held a domain's key generation (tens of
	 * milliseconds) too, so that 16 clients adding domains queued behind one
	 * another and half their requests timed out with 503 with no other
	 * writer at all (bench/apibench.py). */
	if (key) {
		ok = run_idempotent(conn, cr, &r, rt, key);
	} else {
		rt->fn(&r);
		exports_after(&r, rt);
		ok = send_reply(conn, cr, &r, NULL);
	}
	json_decref(r.body);
	json_decref(r.reply);
	free(r.location);
	return ok;
}

enum MHD_Result api_access(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_size, void **con_cls)
{
	struct conn_req *cr = *con_cls;
	if (!cr) {
		/* The headers are in: the request starts. */
		if (!(cr = calloc(1, sizeof(*cr))) || !(cr->path = strdup(url))) {
			free(cr);
			return MHD_NO;
		}
		clock_gettime(CLOCK_MONOTONIC, &cr->t0);
		snprintf(cr->method, sizeof(cr->method), "%s", method);
		*con_cls = cr;
		atomic_fetch_add(&in_flight, 1);
		/* A body announced too large is refused before it is read. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > api_conf.max_body) {
			cr->too_big = 1;
			return answer(conn, cr);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (cr->answered)
			return MHD_YES; /* dropped */
		if (cr->too_big || n > api_conf.max_body - cr->len) {
			/* A chunked body that grew too large. libmicrohttpd takes a reply only once
			 * the body is in: the rest is read and dropped, and 413 answered then, but
			 * a sender that goes on past four times the limit is cut off. */
			if (!cr->too_big) {
				free(cr->body);
				cr->body = NULL;
				cr->len = cr->cap = 0;
				cr->too_big = 1;
			}
			cr->dropped += n;
			return cr->dropped > 4 * api_conf.max_body ? MHD_NO : MHD_YES;
		}
		if (cr->len + n + 1 > cr->cap) {
			size_t cap = cr->cap ? cr->cap : 4096;
			while (cap < cr->len + n + 1)
				cap *= 2;
			char *b = realloc(cr->body, cap);
			if (!b)
				return MHD_NO;
			cr->body = b;
			cr->cap = cap;
		}
		memcpy(cr->body + cr->len, upload_data, n);
		cr->len += n;
		cr->body[cr->len] = 0;
		return MHD_YES;
	}
	if (cr->answered)
		return MHD_YES;
	return answer(conn, cr);
}

/* The path as logged: control characters and blanks as \xNN (it is decoded from the URL). */
static void log_path(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 < n; p++)
		o += (size_t)snprintf(out + o, n - o, *p <= 0x20 || *p >= 0x7f ? "\\x%02x" : "%c",
				      *p);
	out[o] = 0;
}

void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		   enum MHD_RequestTerminationCode toe)
{
	struct conn_req *cr = *con_cls;
	if (!cr)
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - cr->t0.tv_sec) * 1e3 + (t1.tv_nsec - cr->t0.tv_nsec) / 1e6;
	char path[512], status[32];
	log_path(cr->path, path, sizeof(path));
	if (cr->status)
		snprintf(status, sizeof(status), "%d", cr->status);
	else
		snprintf(status, sizeof(status), "%s",
			 toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "closed");
	log_msg(LOG_INFO, "%s %s %s %.1f ms %s", cr->method, path, status, ms,
		cr->who[0] ? cr->who : "-");
	apimetrics_request(route_index(cr->method, cr->path), cr->method, cr->status, ms / 1e3);
	atomic_fetch_sub(&in_flight, 1);
	free(cr->path);
	free(cr->body);
	free(cr);
	*con_cls = NULL;
}
