/*
 * thread.h: naming the calling thread, so `top -H`, perf and gdb tell
 * the committer from the checkpointer from the delivery worker.
 */
#ifndef PB_THREAD_H
#define PB_THREAD_H

/* At most 15 bytes are kept (the kernel's limit); longer names are cut. */
void thread_name(const char *name);

#endif
