/* milter.c -- see include/milter.h (under construction) */
