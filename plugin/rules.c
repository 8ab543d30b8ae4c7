/* rules.c -- see include/rules.h (under construction) */
