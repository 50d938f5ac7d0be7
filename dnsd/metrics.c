/* metrics: GET /metrics over HTTP, by libmicrohttpd's own thread. */
#include "metrics.h"
#include "err.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics {
	struct MHD_Daemon *d;
	metrics_render_fn fn;
	void *arg;
};

void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	for (int tries = 0; tries < 2 && !b->failed; tries++) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, int own)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, own ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (own)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	struct metrics *m = cls;
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "only GET\n";
	static char no_memory[] = "out of memory\n";
	(void)version, (void)upload, (void)state;
	if (*upload_size)
		*upload_size = 0; /* a body is read and ignored */
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1, 0);
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, 0);
	struct metrics_buf b = {0};
	m->fn(m->arg, &b);
	if (b.failed || !b.p) {
		free(b.p);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", no_memory,
			     sizeof(no_memory) - 1, 0);
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", b.p, b.len, 1);
}

int metrics_start(struct net_addr *a, metrics_render_fn fn, void *arg, struct metrics **out,
		  char *err, size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	*out = NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return DNSD_ENOMEM;
	}
	m->fn = fn;
	m->arg = arg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	if (a->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Scrapers are few and trusted to be near: a handful of connections, and
	 * a slow one is dropped after 10 s. */
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&a->ss, MHD_OPTION_CONNECTION_LIMIT, 16U,
				MHD_OPTION_CONNECTION_TIMEOUT, 10U,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen,
			 "--metrics %s: cannot listen there (in use, or not an address of this "
			 "host)",
			 a->text);
		free(m);
		return DNSD_EIO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	if (info) {
		unsigned port = info->port;
		if (a->ss.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((uint16_t)port);
			char h[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a->ss)->sin6_addr, h,
				  sizeof(h));
			snprintf(a->text, sizeof(a->text), "[%s]:%u", h, port);
		} else {
			((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
			char h[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &((struct sockaddr_in *)&a->ss)->sin_addr, h, sizeof(h));
			snprintf(a->text, sizeof(a->text), "%s:%u", h, port);
		}
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
