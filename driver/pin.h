/* Choosing cores and pinning the calling thread (and so every process it then starts) to them: a
 * target started from a pinned thread brings its server and its children onto that thread's core. */
#ifndef FORKSRV_DRIVER_PIN_H
#define FORKSRV_DRIVER_PIN_H

#include <unistd.h>

/* Up to max cores this process may use that no other process is pinned to alone, lowest first, into
 * cores; returns how many. */
int drv_pick_cpus(int *cores, int max);
/* Pins to the n cores listed: 0, or -1 with errno. */
int drv_pin(const int *cores, int n);

#endif
