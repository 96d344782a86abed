/*
 * clock: seconds on CLOCK_MONOTONIC, the one clock runbox's deadlines use
 * (a wall clock can jump under NTP; a deadline must not).
 */
#ifndef RUNBOX_CLOCK_H
#define RUNBOX_CLOCK_H

/* Seconds since an arbitrary fixed point, monotonic. */
double clock_now(void);

#endif
