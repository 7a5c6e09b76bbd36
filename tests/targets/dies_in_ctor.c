/* Exits 4 from an ordinary constructor, which runs after the preloaded server has started: every
 * execution ends that way, as it would under fork+exec. */
#include <unistd.h>

__attribute__((constructor)) static void die(void) { _exit(4); }

int main(void) { return 0; }
