/*
 * sink.c: appends request bodies to an NDJSON file (see sink.h).
 * One writev per line with O_APPEND keeps lines whole even if another
 * process appends to the same file.
 */
#include "deliver/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "deliver/response.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct pin_sink {
	int fd;
	enum pin_sink_sync sync;
	size_t lines;
};

struct pin_sink *
pin_sink_open(const char *path, enum pin_sink_sync sync, struct buf *err)
{
	struct pin_sink *s;
	int fd;

	if (!path)
		path = PIN_SINK_DEFAULT_PATH;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (err)
			buf_addf(err, "cannot open sink '%s': %s", path,
			    strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->sync = sync;
	return s;
}

int
pin_sink_deliver(struct pin_sink *s, const char *body, size_t len,
    size_t n_events, struct pin_response *resp)
{
	struct iovec iov[2];
	size_t total = len + 1, done = 0;
	off_t start;

	start = lseek(s->fd, 0, SEEK_END);
	if (start < 0)
		return -errno;
	iov[0].iov_base = (void *)body;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)"\n";
	iov[1].iov_len = 1;
	while (done < total) {
		ssize_t n;
		int e;

		if (done < len) {
			iov[0].iov_base = (char *)body + done;
			iov[0].iov_len = len - done;
			n = writev(s->fd, iov, 2);
		} else {
			n = write(s->fd, "\n", 1);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			/* A half line would poison every reader of the file. */
			if (ftruncate(s->fd, start) != 0) {
				/* Nothing better to do; the error below is what matters. */
			}
			return -e;
		}
		done += (size_t)n;
	}
	if (s->sync == PIN_SINK_SYNC_BATCH && fdatasync(s->fd) != 0) {
		int e = errno;

		if (ftruncate(s->fd, start) != 0) {
			/* as above */
		}
		return -e;
	}
	s->lines++;
	pin_response_all_processed(resp, n_events);
	return 0;
}

size_t
pin_sink_lines(const struct pin_sink *s)
{
	return s->lines;
}

void
pin_sink_close(struct pin_sink *s)
{
	if (!s)
		return;
	if (s->sync == PIN_SINK_SYNC_BATCH)
		(void)fdatasync(s->fd);
	close(s->fd);
	free(s);
}
