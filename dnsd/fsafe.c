/* fsafe: judges whether no one but the caller (or root) can change a path. */
#include "fsafe.h"
#include "err.h"
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "uid %u", (unsigned)uid);
	return buf;
}

/* One directory above the path: root's or ours, and no one else may write it
 * unless the sticky bit keeps them from renaming our entries. */
static int judge_parent(const char *dir, const struct stat *st, char *err, size_t errlen)
{
	char who[64];
	uid_t me = geteuid();
	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(err, errlen,
			 "%s belongs to %s, who could swap what is inside it: use a directory of "
			 "root or of the user %s runs as",
			 dir, user_name(st->st_uid, who, sizeof(who)), program_invocation_short_name);
		return DNSD_EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s is writable by %s (mode %04o): others could swap what is inside it; "
			 "chmod go-w it",
			 dir, (st->st_mode & S_IWOTH) ? "every user" : "its group",
			 (unsigned)(st->st_mode & 07777));
		return DNSD_EPERM;
	}
	return 0;
}

int fsafe_check(const char *path, int flags, char *err, size_t errlen)
{
	char abs[PATH_MAX], who[64];
	struct stat st;
	uid_t me = geteuid();

	if (!path || !*path) {
		snprintf(err, errlen, "no path given");
		return DNSD_EINVAL;
	}
	/* The absolute path, from the directory above (which must exist), so that
	 * every directory on the way is judged, the ones a link pointed into too. */
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return DNSD_EINVAL;
	}
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = 0;
	char *slash = strrchr(tmp, '/');
	const char *base = slash ? slash + 1 : tmp;
	char parent[PATH_MAX];
	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == tmp)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - tmp), tmp);
	if (!realpath(parent, abs)) {
		snprintf(err, errlen, "%s: %s", parent, strerror(errno));
		return errno == ENOENT ? DNSD_ENOENT : DNSD_EIO;
	}
	/* Every directory from / down to the parent. */
	char walk[PATH_MAX];
	size_t al = strlen(abs);
	for (size_t i = 1; i <= al; i++) {
		if (abs[i] != '/' && abs[i] != 0 && i != 1)
			continue;
		size_t l = (i == 1) ? 1 : i;
		memcpy(walk, abs, l);
		walk[l] = 0;
		if (lstat(walk, &st) != 0) {
			snprintf(err, errlen, "%s: %s", walk, strerror(errno));
			return DNSD_EIO;
		}
		int rc = judge_parent(walk, &st, err, errlen);
		if (rc)
			return rc;
	}
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, errlen, "%s: name the file or directory itself", path);
		return DNSD_EINVAL;
	}
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT && (flags & FSAFE_MISSING))
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? DNSD_ENOENT : DNSD_EIO;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			 "%s is a symbolic link: dnsdctl follows none; give the path it points to",
			 path);
		return DNSD_EPERM;
	}
	if ((flags & FSAFE_DIR) ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a %s", path,
			 (flags & FSAFE_DIR) ? "directory" : "regular file");
		return DNSD_EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != me) {
		snprintf(
			err, errlen,
			"%s belongs to %s, not to the user dnsdctl runs as (%s): run dnsdctl as %s",
			path, user_name(st.st_uid, who, sizeof(who)),
			user_name(me, abs, sizeof(abs)), who);
		return DNSD_EPERM;
	}
	if (st.st_uid == 0 && me != 0 && !(flags & FSAFE_READ)) {
		snprintf(err, errlen,
			 "%s belongs to root: dnsdctl, running as %s, could not keep it safe", path,
			 user_name(me, who, sizeof(who)));
		return DNSD_EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s is writable by %s (mode %04o): chmod go-w it", path,
			 (st.st_mode & S_IWOTH) ? "every user" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return DNSD_EPERM;
	}
	return 0;
}
