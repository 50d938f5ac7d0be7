/* log: lines on stderr, the journal's stream or syslog (log.h says which). */
#include "log.h"
#include "logsys.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_level = LOG_INFO;
static int log_target = LOG_TO_STDERR;
static int log_journal; /* stderr is the journal: "<N>" prefixes, no time */
static const char *log_ident = "dnsd";

void log_set_level(int level)
{
	log_level = level;
}

/* Whether stderr is the stream systemd connected to the journal. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &sb))
		return 0;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void log_open(const char *ident, int target)
{
	if (ident)
		log_ident = ident;
	log_target = target;
	log_journal = target == LOG_TO_STDERR && stderr_is_journal();
	if (target == LOG_TO_SYSLOG)
		logsys_open(log_ident);
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	/* syslog's priorities (RFC 5424): err, warning, info, debug. */
	static const int prio[] = {3, 4, 6, 7};
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level || level < 0 || level > LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_target == LOG_TO_SYSLOG) {
		logsys_line(prio[level], line);
		return;
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", prio[level], line);
		return;
	}
	if (log_target == LOG_TO_PLAIN) {
		fprintf(stderr, "%s: %s\n", log_ident, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		log_ident, names[level], line);
}
