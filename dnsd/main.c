/* main: dnsd's options, start-up, the control loop (store polling, reloads,
 * reclaiming old views) and shutdown. The answering happens in net's workers. */
#include "answer.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "notify.h"
#include "sdnotify.h"
#include "serial.h"
#include "stats.h"
#include "xfr.h"
#include "sock.h"
#include "store.h"
#include "tsig.h"
#include "zone.h"
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnsd --db DB --zone FILE [--zone FILE...] [--listen ADDR:PORT...] [options]\n"
		"\n"
		"Authoritative DNS for hosted email-authentication records (DKIM, SPF, bounce MX,\n"
		"DMARC), answered from the SQLite tenant store that dnsdctl manages.\n"
		"\n"
		"  --db PATH            the store (created by 'dnsdctl init')\n"
		"  --zone FILE          a zone file; one of them must be the store's zone (repeatable)\n"
		"  --listen ADDR:PORT   UDP and TCP address, e.g. 127.0.0.1:53 or [::1]:53; port 0\n"
		"                       picks one (repeatable; default 127.0.0.1:53)\n"
		"  --threads N          worker threads, one event loop each (default: CPUs)\n"
		"  --max-udp BYTES      largest UDP answer with EDNS (default 1232, 512..4096)\n"
		"  --tcp-idle MS        close idle TCP connections after MS (default 10000)\n"
		"  --tcp-query-timeout MS  close a TCP connection that takes longer than MS\n"
		"                       to send one whole query (default 5000)\n"
		"  --tcp-max-conns N    TCP connections in all (default 1000)\n"
		"  --tcp-max-per-client N  TCP connections from one address (default 64)\n"
		"  --tcp-max-unsent BYTES  stop reading a TCP connection whose answers wait\n"
		"                       unsent past BYTES, until they drain (default 65536)\n"
		"  --tcp-max-unsent-total BYTES  the same for all connections together, shared\n"
		"                       out over the workers (default 16777216)\n"
		"  --rrl-rate N         response rate limit: UDP responses per second per source\n"
		"                       prefix (/24, /56) and response; 0 turns it off (default 100)\n"
		"  --rrl-slip N         every Nth limited response is sent truncated, so real\n"
		"                       resolvers retry over TCP; 0 never (default 2)\n"
		"  --identity TEXT      answer id.server and hostname.bind (CHAOS TXT) with TEXT;\n"
		"                       without it they are REFUSED\n"
		"  --version-string TEXT  answer version.bind and version.server; default REFUSED\n"
		"  --nsid TEXT|0xHEX    send this NSID (RFC 5001) to queries that ask for it\n"
		"  --user NAME          drop to this user (and its group) after binding sockets;\n"
		"                       it needs to read the store, never to write it\n"
		"  --state-dir DIR      dnsd's own state (the serial it last served): a directory\n"
		"                       only dnsd writes, never the store's (default: none, kept\n"
		"                       in memory)\n"
		"  --tsig-keys FILE     TSIG keys (RFC 8945), one 'NAME ALGORITHM BASE64' a line;\n"
		"                       readable by dnsd only; read again on SIGHUP\n"
		"  --allow-transfer 'ADDR[/LEN] [key NAME]'  who may AXFR/IXFR the zones, and\n"
		"                       with which TSIG key (repeatable; default: nobody)\n"
		"  --notify 'ADDR[:PORT] [key NAME]'  send NOTIFY to this secondary when a\n"
		"                       zone's serial changes, signed with key NAME (repeatable)\n"
		"  --xfr-max N          concurrent outgoing zone transfers (default 16)\n"
		"  --ixfr-max-age SECONDS  keep IXFR history this long (default 604800)\n"
		"  --ixfr-max-bytes BYTES  and at most this much of it; 0: AXFR only\n"
		"                       (default 67108864)\n"
		"  --poll MS            how often to look for store changes (default 200)\n"
		"  --ready-file PATH    write the bound addresses there once answering\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                       (default: off)\n"
		"  --log-level LEVEL    error, warning, info (default) or debug\n"
		"  --log-target T       stderr (default; with journald's priorities when it is the\n"
		"                       journal) or syslog\n"
		"  --query-log N        log one query in N (source, question, rcode, size) at\n"
		"                       info level (default 0: none)\n"
		"  --check-config       check the options, the config files and what they name\n"
		"                       (keys, store, zone files), list every error, and exit\n"
		"  --config FILE        read options from FILE: one 'option value' a line,\n"
		"                       option names without the dashes, # starts a comment\n"
		"  --version            print the version\n"
		"  --help               this text\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop after the answers in flight; SIGHUP reloads zone files\n"
		"and the TSIG keys.\n");
}

/* ---- zone transfers: the TSIG keys ---- */

/* Whether every key that --allow-transfer and --notify name is in ks. Says
 * which is not. */
static int keys_cover(struct server *s, const struct tsig_keys *ks)
{
	for (size_t i = 0; i < s->cfg.nallow_xfr + s->cfg.nnotify; i++) {
		int acl = i < s->cfg.nallow_xfr;
		const char *key = acl ? s->cfg.allow_xfr[i].key : s->cfg.notify[i - s->cfg.nallow_xfr].key;
		if (key && !tsig_key_find(ks, key)) {
			log_msg(LOG_ERR, "--%s names TSIG key %s, which %s%s", acl ? "allow-transfer" : "notify",
				key, s->cfg.tsig_keys ? "is not in " : "needs --tsig-keys",
				s->cfg.tsig_keys ? s->cfg.tsig_keys : "");
			return -1;
		}
	}
	return 0;
}

/* Loads --tsig-keys at start (before privileges are dropped). Returns 0, 1
 * (cannot read it) or 2 (a key named that it does not hold). */
static int keys_load(struct server *s)
{
	char err[1024];
	if (s->cfg.tsig_keys && tsig_keys_load(s->cfg.tsig_keys, &s->keys, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	if (keys_cover(s, s->keys))
		return 2;
	s->sh.tsig = s->keys;
	s->sh.acl = s->cfg.allow_xfr;
	s->sh.nacl = s->cfg.nallow_xfr;
	if (s->keys)
		log_msg(LOG_INFO, "%zu TSIG keys from %s", s->keys->n, s->cfg.tsig_keys);
	return 0;
}

/* SIGHUP: the key file again. A set that cannot be read, or lacks a key that
 * is named, leaves the old one in use; the old one is kept until exit, as a
 * transfer may be signing with it. */
static void keys_reload(struct server *s)
{
	char err[1024];
	struct tsig_keys *ks, **o;
	if (!s->cfg.tsig_keys)
		return;
	if (tsig_keys_load(s->cfg.tsig_keys, &ks, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s; still using the TSIG keys loaded before", err);
		return;
	}
	if (keys_cover(s, ks) || !(o = realloc(s->old_keys, (s->nold_keys + 1) * sizeof(*o)))) {
		log_msg(LOG_ERR, "TSIG keys of %s not used; still using those loaded before", s->cfg.tsig_keys);
		tsig_keys_free(ks);
		return;
	}
	s->old_keys = o;
	s->old_keys[s->nold_keys++] = s->keys;
	s->keys = ks;
	__atomic_store_n(&s->sh.tsig, ks, __ATOMIC_RELEASE);
	if (s->notifier)
		notify_set_keys(s->notifier, ks);
	log_msg(LOG_INFO, "SIGHUP: %zu TSIG keys from %s", ks->n, s->cfg.tsig_keys);
}


/* Starts the NOTIFY sender (after the loop exists). Returns 0 or -1. */
static int notify_start(struct server *s)
{
	char err[512];
	if (!s->cfg.nnotify)
		return 0;
	if (notify_new(&s->loop, s->cfg.notify, s->cfg.nnotify, s->keys, &s->notifier, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return -1;
	}
	srv_notify_serials(s);
	return 0;
}

static void keys_free(struct server *s)
{
	for (size_t i = 0; i < s->nold_keys; i++)
		tsig_keys_free(s->old_keys[i]);
	free(s->old_keys);
	tsig_keys_free(s->keys);
}

static void on_stop(uv_signal_t *h, int sig)
{
	struct server *s = h->data;
	log_msg(LOG_INFO, "signal %d: stopping", sig);
	sdnotify_send("STOPPING=1");
	uv_stop(&s->loop);
}


static void on_hup(uv_signal_t *h, int sig)
{
	struct server *s = h->data;
	keys_reload(s);
	/* The background refresh owns the store while it runs: reload after it. */
	if (s->refreshing)
		s->hup_pending = 1;
	else
		srv_reload_zones(s);
}

/* --nsid: text, or 0x followed by hex digits. */
static int set_nsid(struct server *s)
{
	const char *v = s->cfg.nsid;
	size_t n = 0;
	if (!strncmp(v, "0x", 2)) {
		for (v += 2; v[0] && v[1] && n < sizeof(s->nsid); v += 2) {
			unsigned b;
			if (sscanf(v, "%2x", &b) != 1)
				break;
			s->nsid[n++] = (uint8_t)b;
		}
		if (*v || !n) {
			fprintf(stderr, "dnsd: bad --nsid '%s': text, or 0x and an even number of hex digits\n",
				s->cfg.nsid);
			return -1;
		}
	} else {
		n = strlen(v) < sizeof(s->nsid) ? strlen(v) : sizeof(s->nsid);
		memcpy(s->nsid, v, n);
	}
	s->sh.acfg.nsid = s->nsid;
	s->sh.acfg.nsid_len = (uint16_t)n;
	return 0;
}

/* --user: after the sockets are bound, before any worker thread starts. */
/* --state-dir: a directory of dnsd's own, never the store's (the writers own
 * that one), and its state, which a bad file only resets. */
static int state_dir_check(struct server *s)
{
	char err[512], *dir = realpath(s->cfg.state_dir, NULL), *db = realpath(s->cfg.db, NULL);
	struct stat st;
	int rc = 0;
	if (!dir || stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		log_msg(LOG_ERR, "--state-dir %s: %s", s->cfg.state_dir, dir ? "not a directory" : strerror(errno));
		rc = -1;
	} else if (db) {
		char *slash = strrchr(db, '/');
		if (slash && (size_t)(slash - db) == strlen(dir) && !strncmp(db, dir, (size_t)(slash - db))) {
			log_msg(LOG_ERR, "--state-dir %s is the store's directory: dnsd keeps its own state apart "
					 "from what the writers own",
				s->cfg.state_dir);
			rc = -1;
		}
	}
	if (!rc && serial_state_load(s->cfg.state_dir, &s->serial, err, sizeof(err)))
		log_msg(LOG_WARN, "%s: starting afresh", err);
	free(dir);
	free(db);
	return rc;
}

/* --check-config: every error of the configuration, each with its file and
 * line, and of what it names (the TSIG keys, the state directory, the store,
 * each zone file), without binding a socket or starting anything. Returns the
 * exit status: 0 when dnsd would start, 1 otherwise. */
static int check_config(struct server *s)
{
	char err[512];
	unsigned bad = s->cfg.nreported;
	if (!s->cfg.db || !s->cfg.nzones) {
		log_msg(LOG_ERR, "--db and at least one --zone are needed (see dnsd --help)");
		bad++;
	}
	if (s->cfg.nlisten && sock_overlap(s->cfg.listen, s->cfg.nlisten, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		bad++;
	}
	if (keys_load(s))
		bad++;
	if (s->cfg.state_dir && s->cfg.db && state_dir_check(s))
		bad++;
	if (s->cfg.user && !getpwnam(s->cfg.user)) {
		log_msg(LOG_ERR, "--user %s: no such user", s->cfg.user);
		bad++;
	}
	if (s->cfg.db && store_open(s->cfg.db, STORE_READONLY, &s->st, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		bad++;
	} else if (s->cfg.db && !(s->store_zone = store_setting(s->st, "zone"))) {
		log_msg(LOG_ERR, "%s has no zone: run 'dnsdctl --db %s init --zone ZONE' first", s->cfg.db,
			s->cfg.db);
		bad++;
	}
	/* Each zone file on its own, so that every bad one is named. */
	int dyn = 0;
	uint8_t sw[WIRE_MAXNAME];
	int sl = s->store_zone ? wire_name_from_text(s->store_zone, sw) : -1;
	for (size_t i = 0; i < s->cfg.nzones; i++) {
		struct db_zone *z;
		const char *apex = s->store_zone ? s->store_zone : ".";
		if (zone_load(s->cfg.zones[i], apex, apex, &z, err, sizeof(err))) {
			log_msg(LOG_ERR, "%s", err);
			bad++;
			continue;
		}
		dyn |= sl == z->apex_len && !memcmp(sw, z->apex, (size_t)sl);
		db_zone_free(z);
	}
	if (s->store_zone && s->cfg.nzones && !dyn) {
		log_msg(LOG_ERR, "the store serves zone %s, but no --zone file has that apex", s->store_zone);
		bad++;
	}
	if (bad) {
		fprintf(stderr, "dnsd: %u error%s in the configuration\n", bad, bad == 1 ? "" : "s");
		return 1;
	}
	printf("dnsd: the configuration is good: zone %s from %s, %zu zone file%s, %zu listener%s\n",
	       s->store_zone, s->cfg.db, s->cfg.nzones, s->cfg.nzones == 1 ? "" : "s",
	       s->cfg.nlisten ? s->cfg.nlisten : 1, s->cfg.nlisten > 1 ? "s" : "");
	return 0;
}

/* --check-config's errors, one a line, as they are found. */
static void report_error(void *arg, const char *msg)
{
	(void)arg;
	log_msg(LOG_ERR, "%s", msg);
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_msg(LOG_ERR, "--user %s: no such user", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		log_msg(LOG_ERR, "--user %s: cannot drop privileges: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_msg(LOG_ERR, "--user %s: privileges could be regained; stopping", user);
		return -1;
	}
	log_msg(LOG_INFO, "running as user %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

static int write_ready(struct server *s)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.ready_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	for (size_t i = 0; i < s->cfg.nlisten; i++)
		fprintf(f, "%s\n", s->cfg.listen[i].text);
	if (s->metrics)
		fprintf(f, "metrics %s\n", s->cfg.metrics.text);
	if (fclose(f) || rename(tmp, s->cfg.ready_file))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct server *s = &srv;
	char err[512];
	int rc;

	/* Applying a change allocates and frees a few MB (new domains and map nodes,
	 * then what they replaced). With glibc's default 128 KB trim threshold every
	 * change handed memory back to the kernel and faulted it in again the next
	 * time, and each trim's TLB flush interrupted the workers: at 70 % load, p99
	 * around a change of 1,000 keys 1.75-2.51 ms with this (median 2.2), 2.65-3.20
	 * ms without (median 2.8), and the change served after 57-123 ms (median 78)
	 * against 35-167 ms (median 124): make bench's live test, 6 and 5 runs, with
	 * the writer then on the client's CPU, which inflated both p99 figures (see
	 * docs/benchmarks.md); the difference between them is what this buys.
	 * Freeing more than this at once (a whole view, after a full reload) still
	 * returns it. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);

	config_init(&s->cfg);
	/* --check-config may come last: its report of every error starts with the first. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--check-config")) {
			s->cfg.report = report_error;
			log_open("dnsd", LOG_TO_PLAIN);
		}
	rc = config_args(&s->cfg, argc, argv, err, sizeof(err));
	if (rc == CONFIG_HELP) {
		usage(stdout);
		return 0;
	}
	if (rc == CONFIG_VERSION) {
		printf("dnsd %s\n", DNSD_VERSION);
		return 0;
	}
	if (s->cfg.check) {
		if (rc == DNSD_ENOMEM)
			log_msg(LOG_ERR, "%s", err);
		rc = rc == DNSD_ENOMEM ? 1 : check_config(s);
		store_close(s->st);
		free(s->store_zone);
		config_free(&s->cfg);
		return rc;
	}
	if (rc) {
		fprintf(stderr, "dnsd: %s\n", err);
		return 2;
	}
	if (s->cfg.log_level >= 0)
		log_set_level(s->cfg.log_level);
	log_open("dnsd", s->cfg.log_target && !strcmp(s->cfg.log_target, "syslog") ? LOG_TO_SYSLOG : LOG_TO_STDERR);
	if (!s->cfg.db || !s->cfg.nzones) {
		fprintf(stderr, "dnsd: --db and at least one --zone are needed (see dnsd --help)\n");
		return 2;
	}
	if (!s->cfg.nlisten) {
		net_parse_addr("127.0.0.1:53", &s->cfg.listen[0]);
		s->cfg.nlisten = 1;
	}
	if (sock_overlap(s->cfg.listen, s->cfg.nlisten, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 2;
	}
	if (!s->cfg.threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		s->cfg.threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = keys_load(s)))
		return rc;

	if (s->cfg.state_dir && state_dir_check(s))
		return 1;
	if ((rc = store_open(s->cfg.db, STORE_READONLY, &s->st, err, sizeof(err)))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	/* The control loop must not wait on a writer: a busy store is tried again at
	 * the next poll. */
	sqlite3_busy_timeout(store_db(s->st), 100);
	srv_store_file_note(s);
	s->store_zone = store_setting(s->st, "zone");
	if (!s->store_zone) {
		log_msg(LOG_ERR, "%s has no zone: run 'dnsdctl --db %s init --zone ZONE' first", s->cfg.db,
			s->cfg.db);
		return 1;
	}
	if (srv_load_zones(s))
		return 1;
	if (s->cfg.ixfr_max_bytes && !(s->hist = xfr_hist_new(s->cfg.ixfr_max_bytes, s->cfg.ixfr_max_age))) {
		log_msg(LOG_ERR, "out of memory");
		return 1;
	}
	if (srv_refresh(s, 1)) {
		log_msg(LOG_ERR, "cannot load the store %s", s->cfg.db);
		return 1;
	}
	s->sh.view = s->view;
	s->sh.acfg.max_udp = (uint16_t)s->cfg.max_udp;
	s->sh.tcp_idle_ms = s->cfg.tcp_idle_ms;
	s->sh.tcp_max_conns = s->cfg.tcp_max_conns;
	s->sh.tcp_max_per_client = s->cfg.tcp_max_per_client;
	s->sh.tcp_query_timeout_ms = s->cfg.tcp_query_timeout_ms;
	s->sh.tcp_max_unsent = s->cfg.tcp_max_unsent;
	s->sh.tcp_max_unsent_total = s->cfg.tcp_max_unsent_total;
	s->sh.rrl.rate = s->cfg.rrl_rate;
	s->sh.rrl.slip = s->cfg.rrl_slip;
	s->sh.query_log = s->cfg.query_log;
	s->sh.acfg.identity = s->cfg.identity;
	s->sh.acfg.version = s->cfg.version;
	s->sh.acl = s->cfg.allow_xfr;
	s->sh.nacl = s->cfg.nallow_xfr;
	s->sh.xfr_max = s->cfg.xfr_max > NET_MAX_XFR ? NET_MAX_XFR : s->cfg.xfr_max;
	s->sh.hist = s->hist;
	if (s->cfg.nsid && set_nsid(s))
		return 2;
	if (net_bind(s->cfg.listen, s->cfg.nlisten, s->cfg.threads, &s->net, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	srv_reclaim(s, 1); /* no reader has seen anything yet */
	if (s->cfg.have_metrics &&
	    metrics_start(&s->cfg.metrics, srv_render_metrics, s, &s->metrics, err, sizeof(err))) {
		log_msg(LOG_ERR, "%s", err);
		return 1;
	}
	if (s->cfg.user && drop_privileges(s->cfg.user))
		return 1;
	if (net_start(s->net, &s->sh)) {
		log_msg(LOG_ERR, "cannot start the worker threads");
		return 1;
	}
	uv_loop_init(&s->loop);
	if (notify_start(s))
		return 1;
	if (srv_refresh_thread_start(s)) {
		log_msg(LOG_ERR, "cannot start the refresh thread: %s", strerror(errno));
		return 1;
	}
	uv_timer_init(&s->loop, &s->poll);
	uv_timer_init(&s->loop, &s->settle);
	s->poll.data = s->settle.data = s;
	uv_timer_start(&s->poll, srv_on_poll, s->cfg.poll_ms, s->cfg.poll_ms);
	srv_watch_start(s);
	uv_signal_init(&s->loop, &s->sigterm);
	uv_signal_init(&s->loop, &s->sigint);
	uv_signal_init(&s->loop, &s->sighup);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	uv_signal_start(&s->sigterm, on_stop, SIGTERM);
	uv_signal_start(&s->sigint, on_stop, SIGINT);
	uv_signal_start(&s->sighup, on_hup, SIGHUP);

	for (size_t i = 0; i < s->cfg.nlisten; i++)
		log_msg(LOG_INFO, "listening on %s (udp, tcp)", s->cfg.listen[i].text);
	if (s->metrics)
		log_msg(LOG_INFO, "metrics on http://%s/metrics", s->cfg.metrics.text);
	log_msg(LOG_INFO, "dnsd %s serving %s from %s: serial %u, %zu domains, %d workers", DNSD_VERSION,
		s->store_zone, s->cfg.db, s->view->set.serial, s->view->ndomains, s->cfg.threads);
	if (s->cfg.ready_file && write_ready(s))
		log_msg(LOG_WARN, "cannot write %s: %s", s->cfg.ready_file, strerror(errno));
	/* Under systemd (Type=notify) the start is done when the workers answer. */
	char state[160];
	snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s, serial %u, %zu domains", s->store_zone,
		 s->view->set.serial, s->view->ndomains);
	if (sdnotify_send(state) < 0)
		log_msg(LOG_WARN, "cannot tell systemd that dnsd is ready ($NOTIFY_SOCKET)");

	uv_run(&s->loop, UV_RUN_DEFAULT);

	metrics_stop(s->metrics);
	net_stop(s->net);
	if (s->refreshing) {
		/* A store read is stuck (a store locked against readers): the answers in
		 * flight are done, so leave without waiting for SQLite. */
		if (s->cfg.ready_file)
			unlink(s->cfg.ready_file);
		log_msg(LOG_INFO, "stopped (a store read was still waiting; not waited for)");
		_exit(0);
	}
	__atomic_store_n(&s->rquit, 1, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (s->rthread_up && write(s->kick_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		pthread_join(s->rthread, NULL);
	close(s->kick_fd);
	uv_close((uv_handle_t *)&s->done_poll, NULL);
	net_free(s->net);
	s->net = NULL;
	srv_reclaim(s, 1);
	free(s->pend);
	db_view_free_all(s->view);
	xfr_hist_free(s->hist);
	for (size_t i = 0; i < s->nzones; i++)
		db_zone_free(s->zones[i]);
	free(s->zones);
	free(s->store_zone);
	store_close(s->st);
	uv_close((uv_handle_t *)&s->poll, NULL);
	uv_close((uv_handle_t *)&s->settle, NULL);
	if (s->ino_fd >= 0) {
		uv_close((uv_handle_t *)&s->watch, NULL);
		uv_close((uv_handle_t *)&s->fast, NULL);
	}
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
	notify_free(s->notifier);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	close(s->done_fd);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	free(s->store_dir);
	uv_loop_close(&s->loop);
	if (s->cfg.ready_file)
		unlink(s->cfg.ready_file);
	log_msg(LOG_INFO, "stopped");
	keys_free(s);
	config_free(&s->cfg);
	return 0;
}
