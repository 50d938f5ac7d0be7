/* sdnotify: the service manager's readiness protocol: a datagram to an
 * AF_UNIX socket, a path or (leading '@') an abstract name. */
#include "sdnotify.h"
#include "err.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdnotify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (!name || !*name)
		return 0;
	size_t n = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || n >= sizeof(sun.sun_path))
		return DNSD_EINVAL;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = 0; /* the abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return DNSD_EIO;
	ssize_t w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
	return w == (ssize_t)strlen(state) ? 1 : DNSD_EIO;
}
