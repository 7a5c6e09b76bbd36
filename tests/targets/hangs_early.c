/* Hangs in a .preinit_array function, before the preloaded server could start: only the startup
 * timeout, or the driver's death, ends it. */
#include <unistd.h>

static void hang(void) { sleep(30); }

__attribute__((section(".preinit_array"), used)) static void (*early)(void) = hang;

int main(void) { return 0; }
