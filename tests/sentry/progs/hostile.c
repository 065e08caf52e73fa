// Hostile guests, each in its own child process: the sandbox must contain every one (the
// child gets an error or a fatal signal for itself), and the parent, in the same sandbox,
// must keep running. Prints how each child ended.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLATFORM_BASE 0x7fff00000000ull

/* The host must never run this mkdir: the test checks the directory does not appear. */
static const char escape_path[] = "/tmp/cordon-hostile-escape";

static void jump_into_stub(void) {
  // The first syscall instruction of the stub, with a syscall of our choice.
  for (uint64_t a = PLATFORM_BASE; a < PLATFORM_BASE + 0x2000; a++) {
    if (*(volatile uint8_t *)a == 0x0f && *(volatile uint8_t *)(a + 1) == 0x05) {
      __asm__ volatile("mov $83, %%eax\n mov %1, %%rdi\n mov $0755, %%esi\n jmp *%0" ::"r"(a), "r"(escape_path)
                       : "rax", "rdi", "rsi");
    }
  }
}

static void scribble_slots(void) {
  memset((void *)(PLATFORM_BASE + 0x80000000ull), 0xff, 1 << 20);
  syscall(SYS_getpid);
}

static void map_platform(void) {
  void *p = mmap((void *)PLATFORM_BASE, 4096, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("  mmap over the platform: %s\n", p == MAP_FAILED ? "refused" : "ALLOWED");
  int r = munmap((void *)PLATFORM_BASE, 1 << 30);
  printf("  munmap of the platform: %s\n", r ? "refused" : "ALLOWED");
  r = mprotect((void *)PLATFORM_BASE, 4096, PROT_READ);
  printf("  mprotect of the platform: %s\n", r ? "refused" : "ALLOWED");
  fflush(stdout);
  exit(r && p == MAP_FAILED ? 0 : 1);
}

static void forged_sigreturn(void) {
  uint64_t frame[128];
  memset(frame, 0xa5, sizeof frame);
  __asm__ volatile("mov %0, %%rsp\n mov $15, %%eax\n syscall" ::"r"(frame + 1) : "rax", "memory");
}

static void spin_blocked(void) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (;;) {
  }
}

static void int80(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
  printf("  int 0x80 returned %ld\n", r);
  fflush(stdout);
  exit(0);
}

static void vsyscall(void) {
  long (*gtod)(void *, void *) = (void *)0xffffffffff600000ull;
  gtod(NULL, NULL);
  exit(0);
}

static void fork_bomb(void) {
  struct rlimit r = {64, 64};
  setrlimit(RLIMIT_NPROC, &r);
  int n = 0;
  for (int i = 0; i < 200; i++) {
    pid_t p = fork();
    if (p == 0) {
      usleep(200000);
      _exit(0);
    }
    if (p < 0) break;
    n++;
  }
  while (wait(NULL) > 0) {
  }
  printf("  fork bomb created %d before the limit\n", n);
  fflush(stdout);
  exit(0);
}

static void stack_in_slot(void) {
  __asm__ volatile("mov %0, %%rsp\n mov $39, %%eax\n syscall" ::"r"(PLATFORM_BASE + 0x80018000ull) : "rax", "memory");
}

struct test {
  const char *name;
  void (*fn)(void);
  int kill_after;
};

int main(void) {
  struct test tests[] = {
      {"jump into the stub's text", jump_into_stub, 0},
      {"scribble over the thread slots", scribble_slots, 0},
      {"map over the platform's pages", map_platform, 0},
      {"forged sigreturn frame", forged_sigreturn, 0},
      {"spin with every signal blocked", spin_blocked, 1},
      {"int 0x80", int80, 0},
      {"legacy vsyscall page", vsyscall, 0},
      {"stack inside a slot", stack_in_slot, 0},
      {"fork bomb", fork_bomb, 0},
  };
  for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    printf("%s:\n", tests[i].name);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      alarm(4);
      tests[i].fn();
      _exit(0);
    }
    if (tests[i].kill_after) {
      usleep(300000);
      kill(p, SIGKILL);
    }
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) printf("  ended by signal %d\n", WTERMSIG(st));
    else printf("  exited %d\n", WEXITSTATUS(st));
  }
  printf("parent still running: yes\n");
  return 0;
}
