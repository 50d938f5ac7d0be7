/* sdnotify: tells systemd how the service stands (Type=notify): one datagram
 * of "KEY=value" lines to the socket $NOTIFY_SOCKET names. */
#ifndef DNSD_SDNOTIFY_H
#define DNSD_SDNOTIFY_H

/* Sends state (e.g. "READY=1\nSTATUS=serving"). Returns 1 when sent, 0 when
 * not started by systemd (no $NOTIFY_SOCKET), or a negative code (DNSD_EINVAL
 * for an unusable socket name, DNSD_EIO when sending failed). */
int sdnotify_send(const char *state);
#endif
