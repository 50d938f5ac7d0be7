/* config: dnsd's options, from the command line and from config files. */
#ifndef DNSD_CONFIG_H
#define DNSD_CONFIG_H
#include "net.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_LISTEN 32
#define CONFIG_MAX_ZONES  64
/* At most this many --allow-transfer and this many --notify. */
#define CONFIG_MAX_XFR 64
/* The longest line a config file may hold (a path, an NSID in hex). */
#define CONFIG_MAX_LINE 4096
/* How deep config files may include config files. */
#define CONFIG_MAX_DEPTH 4

/* What config_args returns when the command line asks for the help text or the
 * version instead of a run. (--check-config sets c->check and goes on.) */
enum { CONFIG_HELP = 1, CONFIG_VERSION = 2 };

/* --allow-transfer ADDR[/LEN] [key NAME]: who may transfer zones. An IPv4-mapped
 * IPv6 prefix (::ffff:192.0.2.0/120) is kept as the IPv4 prefix it means. */
struct config_acl {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port 0 */
	uint8_t prefix;		      /* 0..32 / 0..128; full length when no /LEN */
	const char *key;	      /* TSIG key name required (lowercase, absolute), or NULL */
};

/* --notify ADDR:PORT [key NAME] (port default 53): a secondary to NOTIFY. */
struct config_notify {
	struct net_addr to;
	const char *key; /* TSIG key name to sign with (lowercase, absolute), or NULL */
};

/* The options. Strings point into argv or into copies the config owns (values
 * read from files); they live until config_free. */
struct config {
	const char *db;
	const char *zones[CONFIG_MAX_ZONES];
	size_t nzones;
	struct net_addr listen[CONFIG_MAX_LISTEN];
	size_t nlisten;
	int threads; /* 0: not given */
	unsigned max_udp, tcp_idle_ms, tcp_query_timeout_ms, tcp_max_conns, tcp_max_per_client,
		poll_ms;
	unsigned rrl_rate, rrl_slip;
	unsigned tcp_max_unsent, tcp_max_unsent_total; /* 0: net's defaults */
	int log_level; /* -1: not given */
	const char *ready_file, *identity, *version, *nsid, *user, *state_dir;
	const char *tsig_keys; /* --tsig-keys FILE */
	struct config_acl allow_xfr[CONFIG_MAX_XFR];
	size_t nallow_xfr;
	struct config_notify notify[CONFIG_MAX_XFR];
	size_t nnotify;
	unsigned xfr_max;	/* --xfr-max N: concurrent outgoing transfers (default 16) */
	unsigned ixfr_max_age;	/* --ixfr-max-age SECONDS (default 604800, 7 days) */
	size_t ixfr_max_bytes;	/* --ixfr-max-bytes BYTES (default 64 MiB; 0 = no IXFR) */
	char **owned; /* the copies of values read from files */
	size_t nowned, capowned;
	const char *log_target; /* --log-target stderr|syslog (NULL: stderr) */
	struct net_addr metrics; /* --metrics ADDR:PORT, when have_metrics */
	int have_metrics;
	/* --check-config: with report set, every error is given to it (one
	 * sentence naming the file and line) and parsing goes on to the next
	 * line or argument, so that one run lists them all. */
	int check;
	void (*report)(void *arg, const char *msg);
	void *report_arg;
	unsigned nreported;
};

/* Sets every option to its default. */
void config_init(struct config *c);

/* Frees the values the config copied; the struct itself is the caller's.
 * config_free(NULL) does nothing. */
void config_free(struct config *c);

/* Applies one option by name (without the dashes). val is borrowed: it must
 * outlive c. depth: how many config files deep this option stands (0 on the
 * command line). Returns 0, or DNSD_EINVAL/DNSD_EIO/DNSD_ENOMEM with one
 * sentence in err. */
int config_option(struct config *c, const char *name, const char *val, int depth, char *err,
		  size_t errlen);

/* Counts one error of the configuration and gives it to c->report, if set. */
void config_report(struct config *c, const char *msg);

/* Reads options from the config file at path (one "name value" a line, #
 * starts a comment). Returns as config_option; err names the file and line. */
int config_file(struct config *c, const char *path, int depth, char *err, size_t errlen);

/* The same from an open stream; name is what err calls it. The stream stays
 * the caller's. */
int config_parse(struct config *c, FILE *f, const char *name, int depth, char *err, size_t errlen);

/* 1 if sa (AF_INET or AF_INET6, any port) is inside a's prefix, else 0. An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1) matches as the IPv4 address it is. */
int config_acl_match(const struct config_acl *a, const struct sockaddr *sa);

/* Applies the command line (argv[0] is skipped). Returns 0, CONFIG_HELP or
 * CONFIG_VERSION when asked for those, or a negative code with err. */
int config_args(struct config *c, int argc, char **argv, char *err, size_t errlen);
#endif
