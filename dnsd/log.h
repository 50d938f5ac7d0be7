/* log: one line per message, to stderr (with a timestamp on a terminal or a
 * file; with the priority prefix journald reads when stderr is the journal) or
 * to syslog. One write per line keeps threads' lines whole. */
#ifndef DNSD_LOG_H
#define DNSD_LOG_H

enum { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Where lines go. LOG_TO_STDERR finds out by itself whether stderr is the
 * journal ($JOURNAL_STREAM names stderr's device and inode). */
enum { LOG_TO_STDERR = 0, LOG_TO_SYSLOG = 1, LOG_TO_PLAIN = 2 /* "ident: msg", no time */ };

void log_set_level(int level);
/* Sets the program's name (borrowed; "dnsd" until set) and where lines go. */
void log_open(const char *ident, int target);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
