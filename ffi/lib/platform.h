/*
 * libsandbox's platform interface, as the sentry sees it (bound in ffi/platform.ts).
 *
 * Numbers that may exceed 32 bits (offsets into the memory file, lengths, timeouts) are
 * passed as doubles: exact up to 2^53 and much cheaper across Deno's FFI than 64-bit
 * integers. Errors are returned as negative errno values.
 */
#ifndef CORDON_PLATFORM_H
#define CORDON_PLATFORM_H

#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

enum sb_mechanism { SB_MECH_TRAP = 0, SB_MECH_PTRACE = 1 };

/* sb_wait results below zero */
#define SB_WAIT_TIMEOUT (-1)
#define SB_WAIT_FDS (-2)
#define SB_WAIT_INTR (-3)

/* A token with this bit set in sb_wait_result.tokens is a stub that exited (its index). */
#define SB_TOKEN_STUB_EXIT 0x80000000u
#define SB_WAIT_MAX_FDS 64

struct sb_wait_result {
  uint32_t nfds;
  uint32_t pad;
  uint32_t tokens[SB_WAIT_MAX_FDS];
  uint32_t events[SB_WAIT_MAX_FDS];
};

/* Internal state shared by platform.c and ptrace.c. */
struct sb_stub_rec {
  pid_t pid;
  int pidfd;
  uint8_t alive;
  uint8_t ptrace;
  /* Requested from the master (sb_stub_spawn) and not yet reported ready. */
  uint8_t spawning;
  /* ptrace: the tracer's waitpid(-1) collected the stub's exit before sb_stub_reap. */
  uint8_t collected;
  int collected_status;
};

struct sb_platform {
  int mechanism;
  int memfd, ctrlfd, doorbell, epfd, imagefd;
  uint8_t *mem;
  uint64_t mem_size;
  uint8_t *ctrl;
  struct sb_master *master;
  pid_t master_pid;
  pid_t sentry_pid;
  uint32_t xstate_size;
  uint64_t tsc_per_us;
  struct sb_stub_rec stubs[SB_MAX_STUBS];
};

extern struct sb_platform sb_g;

static inline struct sb_slot *sb_slot_ptr(uint32_t id) {
  uint32_t stub = id / SB_MAX_THREADS, idx = id % SB_MAX_THREADS;
  return (struct sb_slot *)(sb_g.ctrl + SB_SLOT_OFF(stub, idx));
}

/* ptrace.c */
uint64_t sb_stub_symbol(const char *name);
int sb_ptrace_attach(uint32_t stub);
int sb_ptrace_collect(void);
int sb_ptrace_resume(uint32_t id);
int sb_ptrace_fpstate_load(uint32_t id);
int sb_ptrace_fpstate_store(uint32_t id);
int sb_ptrace_start(void);
int sb_ptrace_next_event(void);
void sb_ptrace_forget_stub(uint32_t stub);

#endif
