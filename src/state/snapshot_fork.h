/* snapshot_fork.h — a checkpoint's state written by a copy of the process,
 * so that ingestion pauses for the barrier and a fork, not for the writing.
 *
 * The shards are parked at a barrier (weir_shard_pool_park), the caller's
 * at_cut runs (the sources' positions, the sinks' flush: the cut), the
 * process forks, and the shards go on at once. The child, a copy-on-write
 * image of the engines as they stood at the cut, writes every shard's
 * state (weir_shard_write_state_to) straight into a memfd of its own,
 * made before the fork and mapped while it grows, then the states' lengths
 * into a pipe, and exits; the parent maps the memfds when the pipe closes. This is what Redis does for BGSAVE. The
 * cost moves from a pause to memory: pages the shards change while the
 * child writes are copied, up to the whole state in the worst case, and the
 * states live in the memfds (shared memory) until the store has them.
 *
 * Pipe format: per shard, in shard order, its length as 8 bytes little
 * endian; nothing else. */
#ifndef WEIR_STATE_SNAPSHOT_FORK_H
#define WEIR_STATE_SNAPSHOT_FORK_H

#include <stddef.h>

struct event_base;
struct weir_shard_pool;

typedef struct weir_snapshot_fork weir_snapshot_fork;

/* A memfd's size before the child writes (it doubles as needed). */
#define WEIR_FORK_FIRST_SIZE ((size_t)64 << 10)

/* The cut, while the shards are parked: 0, or -1 with a message. */
typedef int (*weir_snapshot_fork_cut_cb)(void *user, char *err, size_t errlen);
/* The states, one mapped blob per shard (the callee owns blobs[i] and
 * nothing else, and releases it with weir_snapshot_fork_release; both
 * arrays are freed after the call), or error != NULL and no blobs. The
 * fork object is freed after the call. */
typedef void (*weir_snapshot_fork_done_cb)(void *user, void **blobs, const size_t *lens,
                                           unsigned n, const char *error);

/* Parks, cuts, forks, unparks. NULL with a message in err when the cut or
 * the fork failed (done is not called); else done runs later on base's
 * loop. */
weir_snapshot_fork *weir_snapshot_fork_start(struct event_base *base,
                                             struct weir_shard_pool *pool,
                                             weir_snapshot_fork_cut_cb at_cut,
                                             weir_snapshot_fork_done_cb done, void *user,
                                             char *err, size_t errlen);
/* The child writing the states (for logs, and tests that kill it). */
int weir_snapshot_fork_pid(const weir_snapshot_fork *f);
/* Unmaps a state handed to done. Accepts NULL. */
void weir_snapshot_fork_release(void *blob, size_t len);
/* Stops a fork in flight: the child is killed and reaped, done is not
 * called. Accepts NULL. */
void weir_snapshot_fork_cancel(weir_snapshot_fork *f);

#endif
