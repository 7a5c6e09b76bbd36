/* Choosing a core and pinning the calling process (and so everything it starts) to it. */
#ifndef FORKSRV_DRIVER_PIN_H
#define FORKSRV_DRIVER_PIN_H

#include <unistd.h>

/* A core this process may use that no other process is pinned to alone, or -1. */
int drv_pick_cpu(void);
/* 0, or -1 with errno. */
int drv_pin(int cpu);

#endif
