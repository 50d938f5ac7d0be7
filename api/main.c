/* dnsd-api: the HTTP API server. Runs as the signer's user beside the store (never inside dnsd,
 * which holds no keys), on a loopback or UNIX-socket listener, with TLS where configured. Its
 * options, its listener, and its graceful stop; the requests are frame.c's. */
#include "api.h"
#include "apimetrics.h"
#include "check.h"
#include "ctl.h"
#include "err.h"
#include "fsafe.h"
#include "log.h"
#include "net.h"
#include "sock.h"
#include "version.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define API_VERSION DNSD_VERSION

struct api_opts {
	const char *config, *db, *listen, *socket, *tls_cert, *tls_key, *ready_file, *metrics,
		*resolver;
	long threads, connections, timeout, max_body, lock_timeout;
};

/* The options: a text, or a whole number from lo to hi when hi > 0. */
static const struct {
	const char *name;
	size_t off;
	long lo, hi;
} options[] = {
#define T(n, f)                                                                                    \
	{                                                                                          \
		n, offsetof(struct api_opts, f), 0, 0                                              \
	}
#define N(n, f, lo, hi)                                                                            \
	{                                                                                          \
		n, offsetof(struct api_opts, f), lo, hi                                            \
	}
	T("--config", config),
	T("--db", db),
	T("--listen", listen),
	T("--socket", socket),
	T("--tls-cert", tls_cert),
	T("--tls-key", tls_key),
	T("--ready-file", ready_file),
	T("--metrics", metrics),
	T("--resolver", resolver),
	N("--threads", threads, 1, 64),
	N("--max-connections", connections, 1, 100000),
	N("--timeout", timeout, 1, 3600),
	N("--max-body", max_body, 1, 64L << 20),
	N("--lock-timeout", lock_timeout, 0, 600000),
#undef T
#undef N
};

static void usage(int rc)
{
	if (rc) {
		fprintf(stderr, "(see dnsd-api --help)\n");
		exit(rc);
	}
	printf("usage: dnsd-api [--config FILE] [--db DB]\n"
	       "                [--listen ADDR:PORT | --socket PATH]\n"
	       "                [--tls-cert FILE --tls-key FILE] [--threads N]\n"
	       "                [--max-connections N] [--timeout SEC] [--max-body BYTES]\n"
	       "                [--lock-timeout MS] [--ready-file PATH] [--metrics ADDR:PORT]\n"
	       "                [--resolver ADDR[:PORT]]\n"
	       "\n"
	       "Serves the HTTP API over the store (docs/api.md). The store comes from\n"
	       "--db, DNSD_DB or dnsdctl's config file (--config, DNSDCTL_CONFIG,\n"
	       "/etc/dnsd/dnsdctl.conf).\n"
	       "  --listen ADDR:PORT     TCP listener (default %s; port 0: one the OS picks)\n"
	       "  --socket PATH          a UNIX socket instead, mode 0660\n"
	       "  --tls-cert, --tls-key  PEM files: serve HTTPS\n"
	       "  --threads N            worker threads (default %d)\n"
	       "  --max-connections N    connections at once (default %d)\n"
	       "  --timeout SEC          a connection idle this long is closed (default %d)\n"
	       "  --max-body BYTES       larger request bodies get 413 (default %d)\n"
	       "  --lock-timeout MS      a write waits this long for another writer, then 503\n"
	       "                         (default %d)\n"
	       "  --ready-file PATH      write the listening address there once serving\n"
	       "  --metrics ADDR:PORT    serve Prometheus metrics at /metrics there, without\n"
	       "                         authentication (default: none)\n"
	       "  --resolver ADDR[:PORT] the recursive resolver POST .../check asks (default\n"
	       "                         /etc/resolv.conf's)\n",
	       API_DEFAULT_LISTEN, API_DEFAULT_THREADS, API_DEFAULT_CONNECTIONS,
	       API_DEFAULT_TIMEOUT, API_DEFAULT_MAX_BODY, API_DEFAULT_LOCK_TIMEOUT);
	exit(rc);
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_ERR, "%s", msg);
	exit(1);
}

static long number(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		fprintf(stderr, "dnsd-api: %s must be a whole number from %ld to %ld, not '%s'\n",
			opt, lo, hi, v);
		exit(2);
	}
	return n;
}

static void parse(int argc, char **argv, struct api_opts *a, struct opts *o)
{
	*a = (struct api_opts){.threads = API_DEFAULT_THREADS,
			       .connections = API_DEFAULT_CONNECTIONS,
			       .timeout = API_DEFAULT_TIMEOUT,
			       .max_body = API_DEFAULT_MAX_BODY,
			       .lock_timeout = API_DEFAULT_LOCK_TIMEOUT};
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--help") || !strcmp(opt, "-h"))
			usage(0);
		if (!strcmp(opt, "--version")) {
			printf("dnsd-api %s\n", API_VERSION);
			exit(0);
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "dnsd-api: %s needs a value\n", opt);
			usage(2);
		}
		const char *v = argv[++i];
		size_t k = 0;
		while (k < sizeof(options) / sizeof(options[0]) && strcmp(options[k].name, opt))
			k++;
		if (k == sizeof(options) / sizeof(options[0])) {
			fprintf(stderr, "dnsd-api: unknown option %s\n", opt);
			usage(2);
		}
		char *field = (char *)a + options[k].off;
		if (options[k].hi)
			*(long *)field = number(opt, v, options[k].lo, options[k].hi);
		else
			*(const char **)field = v;
	}
	if (a->listen && a->socket) {
		fprintf(stderr, "dnsd-api: --listen or --socket, not both\n");
		exit(2);
	}
	char addr[64];
	int port;
	if (a->resolver && check_parse_addr(a->resolver, addr, sizeof(addr), &port)) {
		fprintf(stderr, "dnsd-api: --resolver '%s' is not ADDRESS[:PORT]\n", a->resolver);
		exit(2);
	}
	api_resolver = a->resolver;
	if (!a->tls_cert != !a->tls_key) {
		fprintf(stderr, "dnsd-api: --tls-cert and --tls-key go together\n");
		exit(2);
	}
	o->config = a->config;
	o->db = a->db ? a->db : getenv("DNSD_DB");
	ctlconf_load(o); /* the store's path, unless the command line or DNSD_DB gave it */
	if (!o->db) {
		fprintf(stderr, "dnsd-api: --db DB is needed (or db in dnsdctl's config file)\n");
		exit(2);
	}
}

/* A TCP listener on text (ADDR:PORT); its bound address (the port the OS picked for 0) into
 * shown. */
static int listen_tcp(const char *text, char *shown, size_t n)
{
	struct net_addr a;
	char err[512];
	int fd;
	if (net_parse_addr(text, &a))
		die("--listen: '%s' is not ADDR:PORT (127.0.0.1:8053, [::1]:8053)", text);
	/* Bound as dnsd binds a probe, without SO_REUSEPORT: a second dnsd-api on the port must
	 * fail here, not share the port's connections with the first. */
	if (sock_open(&a, SOCK_STREAM, 1, &fd, err, sizeof(err)))
		die("%s", err);
	if (listen(fd, 128))
		die("cannot listen on %s: %s", a.text, strerror(errno));
	snprintf(shown, n, "%s", a.text);
	return fd;
}

/* A UNIX socket at path, mode 0660 (the group of the platform's application may connect). A
 * socket left by a server that is gone is replaced; a live one, or another kind of file, is not. */
static int listen_unix(const char *path, char *shown, size_t n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("--socket: the path is longer than %zu characters", sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			die("--socket: %s exists and is not a socket", path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live)
			die("--socket: another server listens on %s", path);
		unlink(path);
	}
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(path, 0660) || listen(fd, 128))
		die("cannot listen on %s: %s", path, strerror(errno));
	snprintf(shown, n, "unix:%s", path);
	return fd;
}

/* The whole of a PEM file, at most 1 MiB; refused when others could change it. Caller frees. */
static char *read_pem(const char *what, const char *path)
{
	char why[1200];
	if (fsafe_check(path, FSAFE_READ, why, sizeof(why)))
		die("refusing the %s: %s", what, why);
	FILE *f = fopen(path, "re");
	if (!f)
		die("%s %s: %s", what, path, strerror(errno));
	char *buf = malloc((1 << 20) + 1);
	size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
	int bad = !buf || ferror(f) || !feof(f) || n == 0;
	fclose(f);
	if (bad)
		die("%s %s: unreadable, empty or larger than 1 MiB", what, path);
	buf[n] = 0;
	return buf;
}

/* The listening address, and "metrics ADDR:PORT" on a second line when there is a metrics
 * listener. */
static void write_ready(const char *path, const char *shown, const char *metrics)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", shown) < 0 ||
	    (metrics && fprintf(f, "metrics %s\n", metrics) < 0) || fclose(f) || rename(tmp, path))
		log_msg(LOG_WARN, "cannot write %s: %s", path, strerror(errno));
}

/* libmicrohttpd's own messages, as log lines. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_msg(LOG_WARN, "http: %s", msg);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct api_opts a;
	char shown[300];
	log_open("dnsd-api", LOG_TO_STDERR);
	parse(argc, argv, &a, &o);
	/* The write library's opening, once before serving: the store's files judged, the
	 * schema brought up to date, the key files of a writer that was killed put where they
	 * belong. A store that cannot be opened stops the server here, not at its first
	 * request. */
	api_conf.wr = (struct wr_conf){.db = o.db,
				       .keys = o.keys,
				       .zone_file = o.zone_file,
				       .lock_ms = (int)a.lock_timeout,
				       .program = "dnsd-api"};
	api_conf.exports = (struct export_conf){.dir = o.export_dir, .command = o.export_command};
	api_conf.max_body = (size_t)a.max_body;
	api_conf.lock_timeout_ms = (int)a.lock_timeout;
	struct wr w = {0};
	if (wr_open(&w, &api_conf.wr, 0)) {
		log_msg(LOG_ERR, "%s", w.err);
		wr_close(&w);
		return 1;
	}
	wr_close(&w);
	if (api_frame_init() || apimetrics_init() || api_exporter_start())
		die("out of memory");

	/* The workers inherit this mask: only the main thread takes the stop signals. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	int fd = a.socket ? listen_unix(a.socket, shown, sizeof(shown))
			  : listen_tcp(a.listen ? a.listen : API_DEFAULT_LISTEN, shown,
				       sizeof(shown));
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	char *cert = NULL, *key = NULL;
	if (a.tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			die("this libmicrohttpd has no TLS");
		cert = read_pem("TLS certificate", a.tls_cert);
		key = read_pem("TLS key", a.tls_key);
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls[] = {
		{cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, key},
		{MHD_OPTION_END, 0, NULL},
	};
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, api_access, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)(a.threads > 1 ? a.threads : 0), MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)a.connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)a.timeout,
		MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL, MHD_OPTION_ARRAY, tls,
		MHD_OPTION_END);
	if (!d)
		die("cannot start the HTTP server on %s", shown);
	/* The scrape: its own listener and thread, no token (like dnsd's). */
	struct metrics *m = NULL;
	struct net_addr ma;
	if (a.metrics) {
		char err[512];
		if (net_parse_addr(a.metrics, &ma))
			die("--metrics: '%s' is not ADDR:PORT (127.0.0.1:9154)", a.metrics);
		if (metrics_start(&ma, apimetrics_render, NULL, &m, err, sizeof(err)))
			die("%s", err);
	}
	if (a.ready_file)
		write_ready(a.ready_file, shown, m ? ma.text : NULL);
	log_msg(LOG_INFO, "dnsd-api %s serving %s on %s%s: %ld threads, %ld connections",
		API_VERSION, o.db, shown, cert ? " (TLS)" : "", a.threads, a.connections);

	int sig = 0;
	sigwait(&stop, &sig);
	/* Graceful: no new connection, the requests being answered finish (10 s at most). */
	log_msg(LOG_INFO, "signal %d: stopping", sig);
	MHD_socket lfd = MHD_quiesce_daemon(d);
	for (int i = 0; i < 1000 && api_in_flight() > 0; i++) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	api_exporter_stop(); /* what the last requests marked is written before exiting */
	metrics_stop(m);
	close(lfd != MHD_INVALID_SOCKET ? lfd : fd);
	if (a.socket)
		unlink(a.socket);
	if (a.ready_file)
		unlink(a.ready_file);
	free(cert);
	free(key);
	log_msg(LOG_INFO, "stopped");
	return 0;
}
