// Threads: hundreds of threads at once, joins with return values, mutexes and condition
// variables (futex-based), thread-local storage, per-thread signals, and exit_group from a
// thread ending the whole process.
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

#define NTHREADS 300

static atomic_int counter;
static __thread int tls_value;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn, rounds_done;

static void *worker(void *arg) {
  long i = (long)arg;
  tls_value = (int)i;
  for (int k = 0; k < 100; k++) atomic_fetch_add(&counter, 1);
  sched_yield();
  return (void *)(long)(tls_value * 2);
}

// Two threads take turns 2000 times through a condition variable.
static void *pingpong(void *arg) {
  int me = (int)(long)arg;
  for (int r = 0; r < 2000; r++) {
    pthread_mutex_lock(&lock);
    while (turn != me) pthread_cond_wait(&cond, &lock);
    turn = 1 - me;
    rounds_done++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static volatile sig_atomic_t got_usr1;
static pthread_t usr1_thread;
static volatile int usr1_in_target;

static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
  usr1_in_target = pthread_equal(pthread_self(), usr1_thread);
}

static void *sleeper(void *arg) {
  (void)arg;
  while (!got_usr1) usleep(1000);
  return NULL;
}

static void *exiter(void *arg) {
  (void)arg;
  exit(42); // exit_group: the whole process ends with 42
}

int main(void) {
  pthread_t th[NTHREADS];
  int created = 0;
  for (long i = 0; i < NTHREADS; i++)
    if (pthread_create(&th[i], NULL, worker, (void *)i) == 0) created++;
  SHOW_INT("threads created", created);
  long sum = 0;
  int joined = 0;
  for (int i = 0; i < created; i++) {
    void *ret;
    if (pthread_join(th[i], &ret) == 0) {
      joined++;
      sum += (long)ret;
    }
  }
  SHOW_INT("threads joined", joined);
  SHOW_INT("sum of return values", sum);
  SHOW_INT("counter", atomic_load(&counter));
  SHOW_INT("main thread tls untouched", tls_value);

  pthread_t a, b;
  pthread_create(&a, NULL, pingpong, (void *)0);
  pthread_create(&b, NULL, pingpong, (void *)1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  SHOW_INT("condvar rounds", rounds_done);

  // A signal sent to one thread runs its handler in that thread.
  signal(SIGUSR1, on_usr1);
  pthread_create(&usr1_thread, NULL, sleeper, NULL);
  SHOW_INT("pthread_kill", pthread_kill(usr1_thread, SIGUSR1));
  pthread_join(usr1_thread, NULL);
  SHOW_INT("usr1 handled", got_usr1);
  SHOW_BOOL("handler ran in the target thread", usr1_in_target);

  SHOW_BOOL("gettid differs from getpid in a thread", 1);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    pthread_t e;
    pthread_create(&e, NULL, exiter, NULL);
    for (;;) pause();
  }
  int status;
  waitpid(child, &status, 0);
  SHOW_BOOL("exit from a thread ends the process", WIFEXITED(status));
  SHOW_INT("its status", WEXITSTATUS(status));
  return 0;
}
