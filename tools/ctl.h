/* ctl: what the parts of dnsdctl share: the command line, the open store, the
 * error path, and small helpers over the write library and JSON. */
#ifndef DNSD_CTL_H
#define DNSD_CTL_H
#include "keys.h"
#include "store.h"
#include "wr.h"
#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_SLOTS 8

/* ---- the command line ---- */

struct opts {
	const char *db, *keys, *zone_file;
	int json;
	const char *format, *tenant, *domain, *algorithm, *token, *return_path;
	const char *zone, *selector_prefix;
	const char *slots, *ttl_dkim, *ttl_policy, *retention_days, *serial;
	/* the key lifecycle */
	int all;
	const char *older_than, *over, *role, *reason, *file, *selector, *active, *eligible;
	const char *max_keys, *ed25519, *rotation_days, *rotation_spread_hours, *key_retention_days;
	const char *export_dir, *export_command;
	const char *resolver; /* check --resolver ADDR[:PORT] */
	const char *concurrency, *rate, *max_domains; /* check --all */
	const char *provider_id, *provider_name, *service_id; /* domain-connect */
	const char *config; /* --config FILE; the settings above may come from it */
	const char *key;    /* domain add --key PEM: the first key, an existing one */
	/* import: rows a transaction, the progress line */
	const char *batch;
	int progress, no_progress;
	const char *spf, *mx, *dmarc; /* init: the global policies */
	const char *metrics_file;     /* maintain: the job's figures for the node exporter */
	int check_config;             /* --check-config: check the config file, do nothing else */
	const char *lock_timeout; /* --lock-timeout MS: how long a write waits for the lock */
	const char *domains, *replace; /* key revoke --all --domains A,B --replace yes|no */
	const char *pos[8];
	int npos;
};

struct ctx {
	struct opts o;
	/* The writer (the write library's open store, its first error and its
	 * staged key files); st, db and zone are shorthands for its own. */
	struct wr w;
	struct store *st;
	sqlite3 *db;
	char *zone;          /* the hosted zone, absolute, lowercase (w.zone) */
	char err[1024];
	int export_force; /* rewrite the exports even if the serial says nothing changed */
	int64_t export_same_from; /* the serial before a batch that changed nothing exported */
};

/* Exit statuses: 1 = error, nothing changed; 2 = usage; 3 = the store change
 * committed, but the exports or the export command failed; 5 = the store was
 * locked by another writer past --lock-timeout: nothing changed, try again. */
#define EXIT_EXPORT 3
#define EXIT_BUSY 5

/* The command being run ("domain add"), for the messages; NULL before it is known. */
extern const char *ctl_cmd_name;
/* --json: errors go to stdout as {"error": {"code", "message"}} too. */
extern int ctl_json;

void die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Rolls back an open transaction, takes back the key files the command staged,
 * prints the error and exits 1. */
void fail(struct ctx *c, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* Fails the command with the writer's error, when one is set (the write
 * library's sticky error: see wr.h). */
void ctl_check(struct ctx *c);

/* Makes stdout and stderr escape, as \xNN, every byte a terminal could take
 * for a command: names, values and messages may hold anything the store's SQL
 * or the command line put there. Call first. */
void ctl_guard_output(void);
/* s to print in a table: itself, or, if it holds a control character (a line
 * end a row could forge lines with), a copy with them as \xNN, valid until 8
 * more calls. NULL gives NULL. */
const char *shown(const char *s);
/* Cuts blanks (and a line end) off both ends of s, in place; returns where it now starts. */
char *ctl_trim(char *s);

/* A JSON string of s (bytes that are not UTF-8 as U+FFFD), or null for NULL;
 * NULL only when out of memory (json_pack's "o" then fails). New reference. */
json_t *ctl_jstr(const char *s);
/* The time as an ISO 8601 UTC string, or null for 0. New reference. */
json_t *ctl_jtime(int64_t t);
/* Building the output; each fails the command when out of memory. ctl_jobj
 * and ctl_jarr return a new reference; ctl_jset sets k to the string v (null
 * for NULL), ctl_jseti to a number; ctl_jsetv and ctl_jpush take v. */
json_t *ctl_jobj(void);
json_t *ctl_jarr(void);
void ctl_jset(json_t *o, const char *k, const char *v);
void ctl_jseti(json_t *o, const char *k, long long v);
void ctl_jsetv(json_t *o, const char *k, json_t *v);
void ctl_jpush(json_t *a, json_t *v);
/* Prints v on stdout, and a line end, in the layout dnsdctl's JSON always had;
 * takes v (NULL: out of memory, which fails the command). */
void ctl_print(json_t *v);
/* ISO 8601 UTC, or "-" for 0. */
const char *fmt_time(int64_t t, char *buf, size_t n);

void open_store(struct ctx *c, int create);

const char *keys_dir(struct ctx *c, char *buf, size_t n);
/* The selector of slot position pos (1-based) of a domain with nmain main
 * slots: <prefix><pos>, then the Ed25519 pair <prefix>-ed1, <prefix>-ed2.
 * Returns 1 if the position belongs to the pair. */
int slot_selector(const char *prefix, int pos, int nmain, char *out, size_t n);
/* "yes"/"no" (also on/off, 1/0) as 1/0; fails the command otherwise. NULL gives def. */
int yes_no(struct ctx *c, const char *v, const char *what, int def);
/* A whole number option within [lo, hi], or def when v is NULL. */
long num_arg(struct ctx *c, const char *v, const char *what, long lo, long hi, long def);

/* ctlconf.c: reads the config file (--config, DNSDCTL_CONFIG, or
 * /etc/dnsd/dnsdctl.conf when it exists) into the options the command line left
 * unset. Fails the command when the file is unsafe (others could write it) or
 * malformed. */
void ctlconf_load(struct opts *o);
/* --check-config: reads the config file as ctlconf_load does, and judges the
 * paths it names as the commands would; reports every error (file:line) on
 * stderr, or "FILE: ok" on stdout. Returns how many errors there were. */
int ctlconf_check(struct opts *o);
/* Judges a path dnsdctl is about to act on (fsafe_check) and fails the command,
 * naming what, when another user could change it. */
void need_safe(struct ctx *c, const char *what, const char *path, int flags);

/* "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" into an address and a port
 * (53 when not given); 0, or -1 when it is not one. */
int ctl_parse_addr(const char *in, char *addr, size_t n, int *port);

/* dnsdctl.c: the store, tenants, domains and policies */
void cmd_init(struct ctx *c);
void cmd_tenant(struct ctx *c);
void cmd_domain(struct ctx *c);
void cmd_policy(struct ctx *c);
void cmd_status(struct ctx *c);
/* keyctl.c: the key lifecycle */
void cmd_key(struct ctx *c);
void cmd_slot(struct ctx *c);
void cmd_ns(struct ctx *c);
void cmd_maintain(struct ctx *c);
void cmd_export(struct ctx *c);
/* check.c: check DOMAIN | --all */
void cmd_check(struct ctx *c);
/* dconnect.c: domain-connect template | apply DOMAIN */
void cmd_domain_connect(struct ctx *c);
/* backup.c: backup FILE, restore FILE */
void cmd_backup_restore(struct ctx *c);
/* import.c */
void cmd_import(struct ctx *c);
/* Rewrites the exports if the set of active keys changed; returns 0, or
 * EXIT_EXPORT after saying what failed on stderr. */
int export_refresh(struct ctx *c, int *changed);
/* Generates a key into the domain's key directory (before any transaction):
 * its public p= value into pub, its file path into path (recorded for undo). */
void key_new_file(struct ctx *c, const char *domain, const char *token, const char *alg, const char *label,
		  char *pub, size_t publen, char *path, size_t pathlen);
/* 0 when a domain, selector and token (from the store) may name a key file:
 * a host name in the stored form, a DNS label, a token of a-z2-7; else
 * DNSD_EINVAL with why. */
int key_names_check(const char *domain, const char *label, const char *token, char *why, size_t n);
/* Writes k into the domain's key directory (made if missing, mode 0700, taken
 * back if the command fails) as <label>-<token>-<time><suffix>.pem, never over
 * another file, and records it for undo. Refuses names key_names_check refuses,
 * and a directory that is not one of the keys directory's own. Returns 0, or an
 * error with why set. */
int key_store_file(struct ctx *c, const keys_key *k, const char *domain, const char *label, const char *token,
		   const char *suffix, char *path, size_t pathlen, char *why, size_t whylen);
/* Inserts a key row and its events (inside the write transaction); returns its id.
 * state is "published" or "active". */
int64_t key_insert(struct ctx *c, int64_t domain_id, int64_t slot_id, const char *alg, const char *pub,
		   const char *path, const char *state, const char *first_event, const char *cause);
/* How long a key published now in slot_id must wait before it may sign. */
int64_t key_hold(struct ctx *c, int64_t slot_id, int64_t now);

#endif
