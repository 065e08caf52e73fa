/*
 * Tests of libsandbox's platform on its own, without the sentry: a "kernel" of a few lines
 * drives hand-assembled guest code through syscalls, faults, threads, interrupts, FPU
 * state and hostile behaviour. Run once per mechanism: platform_test trap|ptrace.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lib/platform.h"

int sb_init(int mechanism, double mem_size);
void *sb_mem_base(void);
int sb_stub_create(void);
int sb_stub_kill(int idx);
int sb_stub_reap(int idx);
int sb_slot_prepare(int stub, int idx);
int sb_wait(double timeout_ns);
int sb_resume(int id);
int sb_interrupt(int id);
int sb_fpstate_load(int id);
int sb_fpstate_store(int id);
void *sb_wait_result_ptr(void);
uint64_t sb_stub_symbol(const char *name);
int sb_mechanism(void);
static int sb_mechanism_is_trap(void) { return sb_mechanism() == SB_MECH_TRAP; }

#define CODE_ADDR 0x400000ull
#define ESCAPE_DIR "/tmp/cordon-platform-test-escape"
#define STACK_ADDR 0x10000000ull
#define DATA_ADDR 0x20000000ull
#define PROT_R 1
#define PROT_W 2
#define PROT_X 4

static uint8_t *mem;
static uint64_t mem_next = 0;
static int failures;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      failures++;                                          \
      return;                                              \
    }                                                      \
  } while (0)

static uint64_t alloc_pages(size_t n) {
  uint64_t off = mem_next;
  mem_next += n * 4096;
  memset(mem + off, 0, n * 4096);
  return off;
}

static void op(struct sb_slot *s, uint32_t kind, uint64_t addr, uint64_t len, uint32_t prot,
               uint64_t off) {
  s->ops[s->nops++] = (struct sb_op){.kind = kind, .prot = prot, .addr = addr, .len = len, .off = off};
}

/* Waits for an event of any slot, skipping fd events; returns the slot id or -1. */
static int next_slot(void) {
  for (int i = 0; i < 1000; i++) {
    int id = sb_wait(2e9);
    if (id >= 0) return id;
    if (id == SB_WAIT_TIMEOUT) {
      fprintf(stderr, "  (sb_wait timed out)\n");
      return -1;
    }
    if (id == SB_WAIT_FDS) {
      struct sb_wait_result *r = sb_wait_result_ptr();
      for (uint32_t k = 0; k < r->nfds; k++)
        if (r->tokens[k] & SB_TOKEN_STUB_EXIT) {
          int stub = (int)(r->tokens[k] & ~SB_TOKEN_STUB_EXIT);
          fprintf(stderr, "  (stub %d exited: status %#x)\n", stub, sb_stub_reap(stub));
          return -1;
        }
    }
  }
  return -1;
}

/* A new stub with code (bytes) mapped at CODE_ADDR and a stack; returns the stub index and
 * leaves slot 0 ready to run with rip at the code. */
static int start_guest(const uint8_t *code, size_t len, int *slot_out) {
  int stub = sb_stub_create();
  if (stub < 0) return stub;
  int id = next_slot();
  if (id != SB_SLOT_ID(stub, 0)) return -100;
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  if (s->event != SB_EV_READY) return -101;
  uint64_t code_off = alloc_pages(1), stack_off = alloc_pages(4);
  memcpy(mem + code_off, code, len);
  s->nops = 0;
  op(s, SB_OP_MMAP, CODE_ADDR, 4096, PROT_R | PROT_X, code_off);
  op(s, SB_OP_MMAP, STACK_ADDR, 4 * 4096, PROT_R | PROT_W, stack_off);
  memset(&s->regs, 0, sizeof s->regs - 6 * 8);
  s->regs.rip = CODE_ADDR;
  s->regs.rsp = STACK_ADDR + 4 * 4096 - 64;
  s->regs.eflags = 0x202;
  s->fs_dirty = 1;
  *slot_out = id;
  return stub;
}

static void finish_stub(int stub) {
  sb_stub_kill(stub);
  for (int i = 0; i < 200; i++) {
    int st = sb_stub_reap(stub);
    if (st != -EAGAIN) return;
    sb_wait(1e7);
  }
}

/* getpid in a loop, then exit_group(42): syscall numbers, arguments, results. */
static const uint8_t getpid_loop[] = {
    0xbb, 0x10, 0x27, 0x00, 0x00,  /* mov $10000, %ebx */
    0xb8, 0x27, 0x00, 0x00, 0x00,  /* 1: mov $39, %eax */
    0x0f, 0x05,                    /* syscall */
    0x48, 0x01, 0xc5,              /* add %rax, %rbp */
    0xff, 0xcb,                    /* dec %ebx */
    0x75, 0xf2,                    /* jnz 1b */
    0xb8, 0xe7, 0x00, 0x00, 0x00,  /* mov $231, %eax */
    0x48, 0x89, 0xef,              /* mov %rbp, %rdi */
    0x0f, 0x05,                    /* syscall */
    0x0f, 0x0b,                    /* ud2 */
};

static void test_syscalls(void) {
  int id;
  int stub = start_guest(getpid_loop, sizeof getpid_loop, &id);
  CHECK(stub >= 0, "start_guest: %d", stub);
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  sb_resume(id);
  int calls = 0;
  uint64_t exit_arg = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    int got = next_slot();
    CHECK(got == id, "event from slot %d, want %d", got, id);
    CHECK(s->event == SB_EV_SYSCALL, "event %u, want syscall", s->event);
    if (s->regs.orig_rax == 231) {
      exit_arg = s->regs.rdi;
      break;
    }
    CHECK(s->regs.orig_rax == 39, "syscall %llu", (unsigned long long)s->regs.orig_rax);
    s->regs.rax = 3;
    calls++;
    sb_resume(id);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / calls;
  CHECK(calls == 10000, "calls %d", calls);
  CHECK(exit_arg == 30000, "sum of results %llu, want 30000", (unsigned long long)exit_arg);
  printf("  syscall round trip: %.2f us\n", us);
  finish_stub(stub);
}

/* Touch an unmapped page: a fault with the address and a write access; map it and go on. */
static const uint8_t touch_data[] = {
    0x48, 0xbf, 0x10, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, /* movabs $0x20000010, %rdi */
    0xc7, 0x07, 0x78, 0x56, 0x34, 0x12,                         /* movl $0x12345678, (%rdi) */
    0x8b, 0x07,                                                 /* mov (%rdi), %eax */
    0x89, 0xc7,                                                 /* mov %eax, %edi */
    0xb8, 0xe7, 0x00, 0x00, 0x00,                               /* mov $231, %eax */
    0x0f, 0x05,                                                 /* syscall */
};

static void test_faults(void) {
  int id;
  int stub = start_guest(touch_data, sizeof touch_data, &id);
  CHECK(stub >= 0, "start_guest: %d", stub);
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  sb_resume(id);
  CHECK(next_slot() == id, "no fault event");
  CHECK(s->event == SB_EV_FAULT, "event %u, want fault", s->event);
  CHECK(s->sig.signo == SIGSEGV, "signo %d", s->sig.signo);
  CHECK(s->sig.addr == DATA_ADDR + 0x10, "fault addr %#llx", (unsigned long long)s->sig.addr);
  if (sb_mechanism_is_trap()) CHECK(s->sig.err & 2, "not reported as a write: err %#llx", (unsigned long long)s->sig.err);
  uint64_t data_off = alloc_pages(1);
  s->nops = 0;
  op(s, SB_OP_MMAP, DATA_ADDR, 4096, PROT_R | PROT_W, data_off);
  sb_resume(id);
  CHECK(next_slot() == id, "no exit event");
  CHECK(s->event == SB_EV_SYSCALL && s->regs.orig_rax == 231, "want exit_group");
  CHECK(s->regs.rdi == 0x12345678, "guest read back %#llx", (unsigned long long)s->regs.rdi);
  CHECK(*(uint32_t *)(mem + data_off + 0x10) == 0x12345678, "memory file does not hold the write");
  /* Write protection: the same page read-only, a write faults again. */
  finish_stub(stub);
}

/* A guest spinning forever is stopped by sb_interrupt. */
static const uint8_t spin_forever[] = {0xeb, 0xfe}; /* 1: jmp 1b */

static void test_interrupt(void) {
  int id;
  int stub = start_guest(spin_forever, sizeof spin_forever, &id);
  CHECK(stub >= 0, "start_guest: %d", stub);
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  sb_resume(id);
  CHECK(sb_wait(2e7) < 0, "a spinning guest posted an event");
  CHECK(sb_interrupt(id) == 0, "sb_interrupt failed");
  CHECK(next_slot() == id, "no interrupt event");
  CHECK(s->event == SB_EV_INTERRUPT, "event %u, want interrupt", s->event);
  CHECK(s->regs.rip == CODE_ADDR, "rip %#llx", (unsigned long long)s->regs.rip);
  finish_stub(stub);
}

/* Threads: slot 0 clones slot 1..N; each runs getpid_loop's exit path in parallel. */
static const uint8_t thread_body[] = {
    0xb8, 0x27, 0x00, 0x00, 0x00, /* mov $39, %eax (getpid) */
    0x0f, 0x05,                   /* syscall */
    0x48, 0x89, 0xc7,             /* mov %rax, %rdi */
    0xb8, 0x3c, 0x00, 0x00, 0x00, /* mov $60, %eax (exit) */
    0x0f, 0x05,                   /* syscall */
    0x0f, 0x0b,
};

static void test_threads(void) {
  enum { N = 8 };
  int id0;
  int stub = start_guest(thread_body, sizeof thread_body, &id0);
  CHECK(stub >= 0, "start_guest: %d", stub);
  struct sb_slot *s0 = sb_slot_ptr((uint32_t)id0);
  for (int i = 1; i <= N; i++) {
    sb_slot_prepare(stub, i);
    op(s0, SB_OP_CLONE_THREAD, 0, 0, 0, (uint64_t)i);
  }
  sb_resume(id0);
  int ready = 0, exits = 0, getpids = 0;
  while (exits < N + 1) {
    int id = next_slot();
    CHECK(id >= 0, "timed out: ready %d getpids %d exits %d", ready, getpids, exits);
    struct sb_slot *s = sb_slot_ptr((uint32_t)id);
    switch (s->event) {
      case SB_EV_READY:
        ready++;
        memset(&s->regs, 0, sizeof s->regs - 6 * 8);
        s->regs.rip = CODE_ADDR;
        s->regs.rsp = STACK_ADDR + 4096;
        s->regs.eflags = 0x202;
        s->fs_dirty = 1;
        break;
      case SB_EV_SYSCALL:
        if (s->regs.orig_rax == 39) {
          getpids++;
          s->regs.rax = (uint64_t)(id % SB_MAX_THREADS);
        } else if (s->regs.orig_rax == 60) {
          CHECK(s->regs.rdi == (uint64_t)(id % SB_MAX_THREADS), "thread %d exit arg %llu", id,
                (unsigned long long)s->regs.rdi);
          exits++;
          if (id == id0) continue; /* keep slot 0 parked: it owns the process */
          op(s, SB_OP_EXIT_THREAD, 0, 0, 0, 0);
        } else {
          CHECK(0, "unexpected syscall %llu", (unsigned long long)s->regs.orig_rax);
        }
        break;
      default:
        CHECK(0, "unexpected event %u in slot %d", s->event, id);
    }
    sb_resume(id);
  }
  CHECK(ready == N, "ready %d", ready);
  CHECK(getpids == N + 1, "getpids %d", getpids);
  finish_stub(stub);
}

/* FPU state: the guest loads xmm0 from memory, traps; the sentry reads it from the xsave
 * area, writes xmm1, and the guest hands xmm1 back through a syscall argument. */
static const uint8_t fpu_roundtrip[] = {
    0x48, 0xbf, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, /* movabs $0x20000000, %rdi */
    0x66, 0x0f, 0x6f, 0x07,                                     /* movdqa (%rdi), %xmm0 */
    0xb8, 0x27, 0x00, 0x00, 0x00,                               /* mov $39, %eax */
    0x0f, 0x05,                                                 /* syscall */
    0x66, 0x48, 0x0f, 0x7e, 0xcf,                               /* movq %xmm1, %rdi */
    0xb8, 0xe7, 0x00, 0x00, 0x00,                               /* mov $231, %eax */
    0x0f, 0x05,                                                 /* syscall */
};

static void test_fpu(void) {
  int id;
  int stub = start_guest(fpu_roundtrip, sizeof fpu_roundtrip, &id);
  CHECK(stub >= 0, "start_guest: %d", stub);
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  uint64_t data_off = alloc_pages(1);
  *(uint64_t *)(mem + data_off) = 0x1122334455667788ull;
  *(uint64_t *)(mem + data_off + 8) = 0x99aabbccddeeff00ull;
  op(s, SB_OP_MMAP, DATA_ADDR, 4096, PROT_R | PROT_W, data_off);
  sb_resume(id);
  CHECK(next_slot() == id && s->event == SB_EV_SYSCALL, "no syscall");
  CHECK(sb_fpstate_load(id) > 512, "fpstate_load");
  uint8_t *x = (uint8_t *)s + s->fpstate_off;
  CHECK(*(uint64_t *)(x + 160) == 0x1122334455667788ull, "xmm0 low %#llx", (unsigned long long)*(uint64_t *)(x + 160));
  *(uint64_t *)(x + 176) = 0xfeedfacecafebeefull; /* xmm1 low */
  CHECK(sb_fpstate_store(id) == 0, "fpstate_store");
  s->regs.rax = 0;
  sb_resume(id);
  CHECK(next_slot() == id && s->regs.orig_rax == 231, "no exit");
  CHECK(s->regs.rdi == 0xfeedfacecafebeefull, "xmm1 came back as %#llx", (unsigned long long)s->regs.rdi);
  finish_stub(stub);
}

/* Hostile guests: each must end up as an event or the stub's death, never a hung or
 * crashed sentry. */
static void expect_contained(const char *name, const uint8_t *code, size_t len) {
  int id;
  int stub = start_guest(code, len, &id);
  if (stub < 0) {
    fprintf(stderr, "FAIL %s: start %d\n", name, stub);
    failures++;
    return;
  }
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  sb_resume(id);
  int dead = 0, events = 0;
  for (int i = 0; i < 50 && !dead; i++) {
    int got = sb_wait(1e8);
    if (got == SB_WAIT_FDS) {
      struct sb_wait_result *r = sb_wait_result_ptr();
      for (uint32_t k = 0; k < r->nfds; k++)
        if (r->tokens[k] == (SB_TOKEN_STUB_EXIT | (uint32_t)stub)) dead = 1;
    } else if (got == id) {
      events++;
      /* Answer syscalls with -ENOSYS and faults by killing: what a kernel would do. */
      if (s->event == SB_EV_SYSCALL || s->event == SB_EV_FOREIGN) {
        s->regs.rax = (uint64_t)-38;
        sb_resume(id);
      } else {
        sb_stub_kill(stub);
      }
    }
  }
  if (!dead) {
    fprintf(stderr, "FAIL %s: stub still alive (events %d)\n", name, events);
    failures++;
    sb_stub_kill(stub);
  }
  finish_stub(stub);
  printf("  %s: contained (%d events)\n", name, events);
}

static void test_hostile(void) {
  /* int 0x80 (32-bit syscall: getpid), then exit via ud2 */
  static const uint8_t int80[] = {0xb8, 0x14, 0, 0, 0, 0xcd, 0x80, 0x0f, 0x0b};
  /* unmap the stub's control region and ring through a syscall (the sentry refuses; here
   * the toy kernel answers ENOSYS), then write over the ring directly */
  static const uint8_t scribble_ring[] = {
      0x48, 0xbf, 0x00, 0x00, 0x00, 0x40, 0xff, 0x7f, 0, 0, /* movabs $0x7fff40000000, %rdi */
      0xb9, 0x00, 0x04, 0x00, 0x00,                         /* mov $1024, %ecx */
      0x31, 0xc0,                                           /* xor %eax, %eax */
      0xf3, 0x48, 0xab,                                     /* rep stosq */
      0x48, 0xbf, 0x00, 0x00, 0x01, 0x80, 0xff, 0x7f, 0, 0, /* movabs $0x7fff80010000, %rdi: slot 0 */
      0xb9, 0x00, 0x20, 0x00, 0x00,                         /* mov $8192, %ecx */
      0xb0, 0xff,                                           /* mov $0xff, %al */
      0xf3, 0xaa,                                           /* rep stosb: clobber the slot */
      0x0f, 0x0b,                                           /* ud2 */
  };
  /* point the stack into the slot and trap */
  static const uint8_t stack_in_slot[] = {
      0x48, 0xbc, 0x00, 0x80, 0x01, 0x80, 0xff, 0x7f, 0, 0, /* movabs $0x7fff80018000, %rsp */
      0xb8, 0x27, 0, 0, 0, 0x0f, 0x05,                      /* getpid */
      0x0f, 0x0b,
  };
  /* the legacy vsyscall page */
  static const uint8_t vsyscall[] = {
      0x48, 0xc7, 0xc0, 0x00, 0x00, 0x60, 0xff, /* mov $0xffffffffff600000, %rax */
      0x31, 0xff, 0x31, 0xf6,                   /* xor edi, esi */
      0xff, 0xd0,                               /* call *%rax */
      0x0f, 0x0b,
  };
  expect_contained("int 0x80", int80, sizeof int80);
  /* Jump to the stub's own syscall instruction with mkdir(ESCAPE_DIR): the host must never
   * run it (trap: seccomp kills the stub; ptrace: SYSEMU reports it as a guest syscall). */
  uint8_t jump_stub[96] = {
      0xb8, 0x53, 0, 0, 0,                                 /* mov $83 (mkdir), %eax */
      0x48, 0xbf, 0x20, 0x00, 0x40, 0, 0, 0, 0, 0,         /* movabs $0x400020, %rdi */
      0xbe, 0xed, 0x01, 0, 0,                              /* mov $0755, %esi */
      0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0,                  /* movabs $stub_syscall_insn, %rcx */
      0xff, 0xe1,                                          /* jmp *%rcx */
  };
  uint64_t insn = sb_stub_symbol("stub_syscall_insn");
  memcpy(jump_stub + 22, &insn, 8);
  strcpy((char *)jump_stub + 0x20, ESCAPE_DIR);
  rmdir(ESCAPE_DIR);
  expect_contained("jump into stub text", jump_stub, sizeof jump_stub);
  if (access(ESCAPE_DIR, F_OK) == 0) {
    fprintf(stderr, "FAIL jump into stub text: the host ran the guest's mkdir\n");
    failures++;
    rmdir(ESCAPE_DIR);
  }
  expect_contained("scribble over ring and slot", scribble_ring, sizeof scribble_ring);
  expect_contained("stack inside slot", stack_in_slot, sizeof stack_in_slot);
  expect_contained("vsyscall page", vsyscall, sizeof vsyscall);
}

int main(int argc, char **argv) {
  int mech = argc > 1 && strcmp(argv[1], "ptrace") == 0 ? SB_MECH_PTRACE : SB_MECH_TRAP;
  int rc = sb_init(mech, (double)(1ull << 32));
  if (rc < 0) {
    fprintf(stderr, "sb_init: %s\n", strerror(-rc));
    return 1;
  }
  mem = sb_mem_base();
  printf("platform_test %s\n", mech == SB_MECH_PTRACE ? "ptrace" : "trap");
  test_syscalls();
  test_faults();
  test_interrupt();
  test_threads();
  test_fpu();
  test_hostile();
  printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}
