/* daemon.c -- see include/daemon.h (under construction) */
