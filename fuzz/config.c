/*
 * Fuzz target: the INI configuration (libinih, then every key's value
 * parser: durations, sizes, CIDR lists, origins, accounts). The input is
 * written to a scratch file and loaded over the defaults, as `serve -c`
 * does. A refused file must say why; a loaded one must release cleanly
 * (LeakSanitizer checks every run).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/config.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch_name[64];

static void
remove_scratch(void)
{
	unlink(scratch_name);
}

/*
 * The scratch file, created once; its descriptor stays open, and the file
 * goes when the fuzzer exits.
 */
static int
scratch_fd(char *path, size_t cap)
{
	static int fd = -1;

	if (fd < 0) {
		snprintf(scratch_name, sizeof(scratch_name),
		    "/tmp/pb-fuzz-config.XXXXXX");
		if ((fd = mkstemp(scratch_name)) < 0)
			abort();
		atexit(remove_scratch);
	}
	snprintf(path, cap, "%s", scratch_name);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 650 KiB: static, not on the stack, where ASan would pad it. */
	static struct config c;
	char path[64], err[256];
	int fd = scratch_fd(path, sizeof(path));

	if (size > 64 * 1024)
		return 0;
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	config_defaults(&c);
	err[0] = '\0';
	if (config_load(&c, path, err, sizeof(err)) < 0 && !err[0])
		abort();
	config_release(&c);
	return 0;
}
