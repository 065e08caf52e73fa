// futex(2) directly: value mismatch, timeouts, wake counts, requeue, wake-op, bitsets, and
// a shared futex between processes through MAP_SHARED memory.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

// From linux/futex.h (musl's include path has no kernel headers).
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_ADD 1
#define FUTEX_OP_CMP_GT 4
#define FUTEX_OP(op, oparg, cmp, cmparg) \
  (((op & 0xf) << 28) | ((cmp & 0xf) << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff))

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts, uint32_t *uaddr2, uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static uint32_t word, word2;
static atomic_int woken;

static void *waiter(void *arg) {
  uint32_t *w = arg;
  while (futex(w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) == -1 && errno == EINTR) {
  }
  atomic_fetch_add(&woken, 1);
  return NULL;
}

static void wait_for_waiters(uint32_t *w, int n) {
  // Give the waiters time to block; futex_wake's count tells how many really were.
  (void)w;
  (void)n;
  usleep(100000);
}

int main(void) {
  word = 1;
  SHOW_CALL("wait with a different value", futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
  struct timespec ts = {0, 20 * 1000 * 1000};
  word = 0;
  SHOW_CALL("wait with a timeout", futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0));
  SHOW_CALL("wake nobody", futex(&word, FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0));
  SHOW_CALL("bad op", futex(&word, 99, 0, NULL, NULL, 0));
  SHOW_CALL("unaligned", futex((uint32_t *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));

  pthread_t th[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, waiter, &word);
  wait_for_waiters(&word, 4);
  SHOW_CALL("wake 1 of 4", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
  // Move the other three to word2; none woken.
  SHOW_CALL("requeue 0 woken, 3 moved", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)3, &word2, 0));
  SHOW_CALL("cmp_requeue with a stale value", futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)3, &word2, 7));
  SHOW_CALL("wake all on word2", futex(&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  SHOW_INT("waiters woken", atomic_load(&woken));

  // WAKE_OP: word2 += 5; wake word; wake word2 if old value > 0.
  word2 = 1;
  int op = FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_GT, 0);
  SHOW_CALL("wake_op", futex(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &word2, op));
  SHOW_INT("word2 after wake_op", word2);

  // Bitsets: a waiter with bitset 2 is not woken by bitset 1.
  word = 0;
  SHOW_CALL("wake_bitset with bitset 0", futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_nsec += 30 * 1000 * 1000;
  if (abs.tv_nsec >= 1000000000) abs.tv_sec++, abs.tv_nsec -= 1000000000;
  SHOW_CALL("wait_bitset absolute timeout", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, 2));

  // Shared futex between two processes.
  uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  *shared = 0;
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    while (*shared == 0) futex(shared, FUTEX_WAIT, 0, NULL, NULL, 0);
    _exit(*shared == 7 ? 0 : 1);
  }
  usleep(100000);
  __atomic_store_n(shared, 7, __ATOMIC_SEQ_CST);
  long n = futex(shared, FUTEX_WAKE, 1, NULL, NULL, 0);
  int status;
  waitpid(child, &status, 0);
  SHOW_BOOL("shared futex woke the other process", n == 1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
  SHOW_INT("child status", WEXITSTATUS(status));
  return 0;
}
