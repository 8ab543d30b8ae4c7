/* mimeparam.c -- see include/mimeparam.h (under construction) */
