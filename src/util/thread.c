#include "util/thread.h"

#include <sys/prctl.h>

#include "util/banned.h"

void
thread_name(const char *name)
{
	/* Best effort: a thread without a name works the same. */
	(void)prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
