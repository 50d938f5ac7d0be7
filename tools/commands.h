/* commands: dnsdctl's command table. One row per command (its words, its
 * function, the options it takes, its usage); the command line is parsed, each
 * option checked against its command, and help printed from this one table. */
#ifndef DNSD_COMMANDS_H
#define DNSD_COMMANDS_H
#include "ctl.h"
#include <stdio.h>

struct ctl_cmd {
	const char *name; /* the words that select it: "domain add", "status" */
	void (*fn)(struct ctx *);
	const char *opts;    /* the options it takes besides the global ones: names
			      * without "--", separated by blanks */
	const char *args;    /* its arguments (and options it needs) for the usage line */
	const char *summary; /* one line */
	const char *text;    /* more about it, or NULL */
};

/* The table, ending with a row whose name is NULL. */
extern const struct ctl_cmd ctl_cmds[];

/* Parses argv into o and returns the command it names, after checking every
 * option against it. Prints help or the version and exits 0 when asked for
 * them, reports a usage error (exit 2) otherwise; for --check-config, checks
 * the config file and exits 0 or 1. Reads the config file (ctlconf_load). */
const struct ctl_cmd *ctl_parse(struct opts *o, int argc, char **argv);

/* 1 when command cmd takes option name (with its "--"). */
int ctl_cmd_takes(const struct ctl_cmd *cmd, const char *name);

#endif
