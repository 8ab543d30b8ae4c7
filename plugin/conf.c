/* conf.c -- see include/conf.h (under construction) */
