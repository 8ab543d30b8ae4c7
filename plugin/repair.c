/* repair.c -- see include/repair.h (under construction) */
