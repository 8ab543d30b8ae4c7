/* report.c -- see include/report.h (under construction) */
