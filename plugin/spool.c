/* spool.c -- see include/spool.h (under construction) */
