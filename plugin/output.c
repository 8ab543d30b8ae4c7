/* output.c -- see include/output.h (under construction) */
