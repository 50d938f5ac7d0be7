/* logsys: syslog(3) for log.c. */
#include "logsys.h"
#include <syslog.h>

void logsys_open(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void logsys_line(int prio, const char *line)
{
	syslog(prio, "%s", line);
}
