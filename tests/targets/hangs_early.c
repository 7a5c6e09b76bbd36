/* Sleeps 30 s in a .preinit_array function, before the preloaded server could start, and then exits 0:
 * the startup timeout, or the driver's death, must end it before that. */
#include <unistd.h>

static void hang(void) { sleep(30); }

__attribute__((section(".preinit_array"), used)) static void (*early)(void) = hang;

int main(void) { return 0; }
