/* nullresp: the ceiling the system calls set. A UDP responder that does no DNS
 * work: it reads queries in batches (recvmmsg, blocking for the first), sets QR
 * in each header and sends the query back as its own answer (sendmmsg). The
 * bench measures it like the servers, so that dnsd's CPU per query can be read
 * against what the kernel alone costs on this machine.
 * Usage: nullresp PORT [READY_FILE] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define MSG 4096

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: nullresp PORT [READY_FILE]\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sz = 4 << 20;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("nullresp: bind");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: recvmmsg returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (argc > 2) {
		FILE *f = fopen(argv[2], "w");
		if (f)
			fclose(f);
	}
	static uint8_t buf[BATCH][MSG];
	static struct sockaddr_storage from[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	while (!stop) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ buf[i], MSG };
			m[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (m[i].msg_len >= 12)
				buf[i][2] |= 0x80;
			iov[i].iov_len = m[i].msg_len;
		}
		for (int off = 0; off < n;) {
			int s = sendmmsg(fd, m + off, (unsigned)(n - off), 0);
			if (s <= 0)
				break;
			off += s;
		}
	}
	return 0;
}
