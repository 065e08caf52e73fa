/* A static `true`: what fork_exec executes, and the command of the whole-container runs. */
int main(void) { return 0; }
