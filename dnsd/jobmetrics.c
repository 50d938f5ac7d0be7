/* jobmetrics: the maintain job's figures as a node_exporter textfile. */
#include "jobmetrics.h"
#include "err.h"
#include "lifecycle.h"
#include "ns.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value in the exposition format: backslash, quote and line end escaped. */
static void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static int each_ns(void *arg, const struct ns_info *n)
{
	FILE *f = arg;
	fputs("dnsd_secondary_lag_seconds{name=\"", f);
	label(f, n->name);
	fprintf(f, "\"} %lld\n", (long long)n->lag_seconds);
	fputs("dnsd_secondary_serial{name=\"", f);
	label(f, n->name);
	fprintf(f, "\"} %lld\n", (long long)(n->has_serial ? n->serial : -1));
	fputs("dnsd_secondary_checked_timestamp_seconds{name=\"", f);
	label(f, n->name);
	fprintf(f, "\"} %lld\n", (long long)n->checked_at);
	return 0;
}

int jobmetrics_print(struct wr *w, const struct jobmetrics_run *run, FILE *f)
{
	static const char *const states[] = {"published", "active", "retired"};
	family(f, "dnsd_keys", "gauge", "Keys of active domains by state.");
	for (int i = 0; i < 3; i++)
		fprintf(f, "dnsd_keys{state=\"%s\"} %lld\n", states[i],
			(long long)wr_int(
				w,
				wr_q(w,
				     "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id "
				     "JOIN domains d ON d.id = s.domain_id "
				     "WHERE d.state = 'active' AND k.state = ?",
				     "s", states[i]),
				0));
	int64_t rdays = lc_setting_i64(w, "rotation_days", 180);
	int64_t spread = lc_setting_i64(w, "rotation_spread_hours", 24) * 3600;
	/* Due: an active key whose time has come. One the job does not replace
	 * (no free eligible slot, or the job not running) stays due, later and later. */
	sqlite3_stmt *st =
		wr_q(w,
		     "SELECT count(*), ifnull(max(?1 - due), 0) FROM (SELECT " LC_ROTATE_DUE_SQL(
			     "?2", "?3") " AS due FROM keys k JOIN slots s ON s.id = k.slot_id "
					 "JOIN domains d ON d.id = s.domain_id "
					 "WHERE k.state = 'active' AND d.state = 'active') "
					 "WHERE due <= ?1",
		     "iii", run->now, rdays, spread);
	int64_t due = 0, late = 0;
	if (wr_step(w, st)) {
		due = sqlite3_column_int64(st, 0);
		late = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	int64_t next = wr_int(
		w,
		wr_q(w,
		     "SELECT min(due) FROM (SELECT " LC_ROTATE_DUE_SQL(
			     "?2", "?3") " AS due FROM keys k JOIN slots s ON s.id = k.slot_id "
					 "JOIN domains d ON d.id = s.domain_id "
					 "WHERE k.state = 'active' AND d.state = 'active') "
					 "WHERE due > ?1",
		     "iii", run->now, rdays, spread),
		0);
	family(f, "dnsd_keys_rotation_due", "gauge",
	       "Active keys whose rotation is due and not yet begun.");
	fprintf(f, "dnsd_keys_rotation_due %lld\n", (long long)due);
	family(f, "dnsd_keys_rotation_overdue_seconds", "gauge",
	       "How long the most overdue key has been due (0: none is).");
	fprintf(f, "dnsd_keys_rotation_overdue_seconds %lld\n", (long long)late);
	family(f, "dnsd_keys_next_rotation_timestamp_seconds", "gauge",
	       "When the next key rotation falls due (0: none planned).");
	fprintf(f, "dnsd_keys_next_rotation_timestamp_seconds %lld\n", (long long)next);
	static const char *const cstates[] = {"pending", "verified", "drifted"};
	family(f, "dnsd_check_domains", "gauge",
	       "Customer domains by the state of their records' check.");
	for (int i = 0; i < 3; i++)
		fprintf(f, "dnsd_check_domains{state=\"%s\"} %lld\n", cstates[i],
			(long long)wr_int(
				w,
				wr_q(w,
				     "SELECT count(*) FROM domain_checks c JOIN domains d "
				     "ON d.id = c.domain_id WHERE d.state = 'active' AND c.state = "
				     "?",
				     "s", cstates[i]),
				0));
	family(f, "dnsd_check_domains_unchecked", "gauge",
	       "Active customer domains never checked.");
	fprintf(f, "dnsd_check_domains_unchecked %lld\n",
		(long long)wr_int(w,
				  wr_q(w,
				       "SELECT count(*) FROM domains d WHERE d.state = 'active' "
				       "AND NOT EXISTS "
				       "(SELECT 1 FROM domain_checks c WHERE c.domain_id = d.id)",
				       ""),
				  0));
	family(f, "dnsd_secondary_lag_seconds", "gauge",
	       "How long the store held changes a secondary did not serve, when last asked.");
	family(f, "dnsd_secondary_serial", "gauge",
	       "The serial a secondary served when last asked (-1: no answer).");
	family(f, "dnsd_secondary_checked_timestamp_seconds", "gauge",
	       "When a secondary was last asked.");
	if (!w->rc)
		ns_list(w, each_ns, f);
	/* What dnsd should serve: an instance whose dnsd_serial stays below it has stopped
	 * taking the store's changes in (the refresh is stalled). */
	family(f, "dnsd_store_serial", "gauge", "The store's serial when the job last ran.");
	fprintf(f, "dnsd_store_serial %lld\n", (long long)(w->rc ? 0 : store_serial(w->st)));
	family(f, "dnsd_job_last_run_timestamp_seconds", "gauge",
	       "When the maintain job last ran.");
	fprintf(f, "dnsd_job_last_run_timestamp_seconds %lld\n", (long long)run->now);
	family(f, "dnsd_job_last_run_success", "gauge", "1 when the last run's batch committed.");
	fprintf(f, "dnsd_job_last_run_success %d\n", run->ok ? 1 : 0);
	family(f, "dnsd_job_exports_success", "gauge",
	       "1 when the last run wrote the exports (and ran the export command).");
	fprintf(f, "dnsd_job_exports_success %d\n", run->exports_ok ? 1 : 0);
	family(f, "dnsd_job_run_steps", "gauge", "What the last run did.");
	fprintf(f,
		"dnsd_job_run_steps{step=\"revoked\"} %d\ndnsd_job_run_steps{step=\"activated\"} "
		"%d\n"
		"dnsd_job_run_steps{step=\"published\"} %d\ndnsd_job_run_steps{step=\"purged\"} "
		"%d\n"
		"dnsd_job_run_steps{step=\"waiting\"} %d\n",
		run->revoked, run->activated, run->published, run->purged, run->waiting);
	return w->rc;
}

int jobmetrics_write(struct wr *w, const struct jobmetrics_run *run, const char *path)
{
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return wr_fail(w, DNSD_EINVAL, "metrics-file",
			       "--metrics-file: the path is too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return wr_fail(w, e == ENOSPC ? DNSD_EFULL : DNSD_EIO, "metrics-file",
			       "cannot write %s: %s", tmp, strerror(e));
	}
	int rc = jobmetrics_print(w, run, f);
	int bad = ferror(f);
	int e = errno;
	if (fclose(f) || bad) {
		e = errno ? errno : e;
		unlink(tmp);
		return rc ? rc
			  : wr_fail(w, e == ENOSPC ? DNSD_EFULL : DNSD_EIO, "metrics-file",
				    "cannot write %s: %s", tmp, strerror(e));
	}
	if (rc || rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		return rc ? rc
			  : wr_fail(w, DNSD_EIO, "metrics-file", "cannot rename %s to %s: %s", tmp,
				    path, strerror(e));
	}
	return 0;
}
