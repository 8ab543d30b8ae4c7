/* analyze.c -- see include/analyze.h (under construction) */
