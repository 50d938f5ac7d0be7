/* log: timestamped lines on stderr, and "say it once" for conditions that persist. */
#ifndef DNSD_LOG_H
#define DNSD_LOG_H

enum { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(int level);
/* The program's name in each line ("dnsd" unless set; a static string). */
void log_set_ident(const char *ident);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
