/* logsys: syslog(3) behind log.c (apart, since <syslog.h> takes the LOG_*
 * names log.h uses). */
#ifndef DNSD_LOGSYS_H
#define DNSD_LOGSYS_H

/* Opens syslog as ident (borrowed for the process's life), facility daemon. */
void logsys_open(const char *ident);
/* One line at priority prio (3 err, 4 warning, 6 info, 7 debug). */
void logsys_line(int prio, const char *line);
#endif
